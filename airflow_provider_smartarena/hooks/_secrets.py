"""The one scrubber of the hook: every secret it sent or received, removed from what a server says back.

A server may quote a request back in an error ("auth=Bearer tok-...", "the password X is too
weak", an HTML page echoing the form). Whatever the hook builds from a response — an exception's
message, its ``response_body``, a validation error's field messages — passes through
:meth:`Scrubber.clean` before it leaves the hook, so no path can forget a secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from airflow_provider_smartarena.exceptions import SmartArenaError

REDACTED = "***"

#: Request fields whose values are secrets (a user's password, the OAuth2 client secret ...).
SECRET_FIELD_WORDS = ("password", "secret", "token")


def is_secret_field(name: str) -> bool:
    """True for a request field whose value must never be quoted back (``password``, ``client_secret``)."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_FIELD_WORDS)


def secrets_in(*bodies: Mapping[str, Any] | None) -> list[str]:
    """The values of secret fields in request bodies (top level, as the API's fields are flat)."""
    return [
        str(value)
        for body in bodies
        if body
        for name, value in body.items()
        if is_secret_field(str(name)) and value is not None and str(value)
    ]


def quoted_forms(secret: str) -> set[str]:
    """``secret`` and the forms it takes when quoted: inside a ``repr()`` of text or of bytes, a
    JSON string, or percent-encoded as a form or URL sends it. A library's error (an invalid
    header, a refused value) or a server echoing the raw request shows a secret holding a quote, a
    backslash, a space or a control character only in such a form."""
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote_plus(secret),
        quote(secret, safe=""),
    }
    return {form for form in forms if form}


def scrub(value: Any, secrets: Collection[str]) -> Any:
    """``value`` with every secret replaced, through nested lists and dicts (keys included).

    :param secrets: longest first, so that a secret containing another is replaced whole.
    """
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {scrub(key, secrets): scrub(item, secrets) for key, item in value.items()}
    return value


class Scrubber:
    """The secrets one hook has sent or received, and the means to remove them.

    The client secret and every token issued to the hook (current and expired: a server's log
    or error page may quote an old one) are kept for the hook's life; a call's own secrets
    (passwords it sends) are passed to :meth:`clean` by the call.
    """

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Remember secrets (empty values are ignored)."""
        new = {form for v in values if isinstance(v, str) and v for form in quoted_forms(v)}
        if new - self._secrets:
            with self._lock:
                self._secrets = self._secrets | new

    def secrets(self, extra: Iterable[str] = ()) -> list[str]:
        """Every known secret plus ``extra``, longest first."""
        return sorted(self._secrets.union(*(quoted_forms(v) for v in extra if v)), key=len, reverse=True)

    def scrub(self, value: Any, extra: Iterable[str] = ()) -> Any:
        """``value`` without any secret (see :func:`scrub`)."""
        return scrub(value, self.secrets(extra))

    def clean(self, error: SmartArenaError, extra: Iterable[str] = ()) -> SmartArenaError:
        """Remove every secret from ``error`` in place (message, body, details) and return it."""
        secrets = self.secrets(extra)
        if secrets:
            error.redact(lambda value: scrub(value, secrets))
        return error
