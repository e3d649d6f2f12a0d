"""The probe's way into the hook: a fresh token with its lifetime, and GETs that keep the ``Date``.

The hook's public calls validate parameters against the API model and hide the reply's envelope and
headers; the probe needs both raw. Rather than re-implement token handling, retries, TLS and the
mapping of errors, it goes through the hook's own machinery, and this module is the only place that
touches hook internals (``_send``, ``_tokens``). Each use is named below so the hook can grow public
equivalents (see the probe's README section / hand-over notes) and this module shrink to nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_smartarena.hooks import _http
from airflow_provider_smartarena.hooks._retry import parse_http_date

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

_REDACTED = "***"


@dataclass(frozen=True)
class Reply:
    """A GET's parsed body and the server's clock when it answered (aware UTC, or None)."""

    body: Any
    date: dt.datetime | None


class HookAccess:
    """Token and GET calls through ``hook``, counting them and remembering secrets to redact.

    :param hook: the hook whose connection, session, retries and error mapping are used.
    """

    def __init__(self, hook: SmartArenaHook) -> None:
        self.hook = hook
        self.gets = 0
        self.token_requests = 0
        self.last_date: dt.datetime | None = None
        self.expires_in: float | None = None
        #: The last ``X-RateLimit-Limit`` / ``-Remaining`` (and a 429's ``Retry-After``) seen.
        self.rate_limit: dict[str, str] = {}
        self.throttled = 0
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def remember_secret(self, value: str | None) -> None:
        """Redact ``value`` from every text this access hands out (the client secret, tokens)."""
        if value:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        """``text`` without any secret seen so far."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, _REDACTED)
        return text

    @contextmanager
    def recording_tokens(self) -> Iterator[None]:
        """While active, every token the hook fetches is counted, redacted and its lifetime kept.

        Uses ``hook._tokens._fetch`` (internal): the hook keeps no record of ``expires_in``.
        """
        manager = self.hook._tokens
        original: Callable[[], tuple[str, float | None]] = manager._fetch

        def recording() -> tuple[str, float | None]:
            with self._lock:
                self.token_requests += 1
            value, lifetime = original()
            self.remember_secret(value)
            self.expires_in = lifetime
            return value, lifetime

        manager._fetch = recording
        try:
            yield
        finally:
            manager._fetch = original

    @contextmanager
    def watching_responses(self) -> Iterator[None]:
        """While active, the rate-limit headers of every answer (429s included) are kept.

        Uses the hook's ``requests`` session (``get_conn``) and its response hooks: ``_send``
        returns only the body and the ``Date`` header.
        """
        session = self.hook.get_conn()

        def watch(response: Any, *args: Any, **kwargs: Any) -> None:
            headers = response.headers
            with self._lock:
                if response.status_code == 429:
                    self.throttled += 1
                    if headers.get("Retry-After"):
                        self.rate_limit["retry_after"] = str(headers["Retry-After"])
                for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining"):
                    if headers.get(name) is not None:
                        self.rate_limit[name.lower().replace("x-ratelimit-", "")] = str(headers[name])

        hooks = session.hooks.setdefault("response", [])
        hooks.append(watch)
        try:
            yield
        finally:
            hooks.remove(watch)

    def new_token(self) -> float | None:
        """Drop any cached token and fetch a new one; return its ``expires_in`` (None if absent).

        Call inside :meth:`recording_tokens`. Uses ``hook._tokens`` (internal).
        """
        self.hook._tokens.clear()
        self.hook._tokens.get()
        return self.expires_in

    def get(self, path: str, params: Mapping[str, Any]) -> Reply:
        """GET ``path`` with the hook's token, retries and error mapping; keep the ``Date`` header.

        Uses ``hook._send`` (internal): the public calls return neither the raw envelope nor the
        header. A 2xx error body (``{"error": ...}``) raises, as the hook's own reads do.

        :raises SmartArenaError: the call failed (status and the server's message in the error).
        """
        with self._lock:
            self.gets += 1
        body, date = self.hook._send("GET", path, params=dict(params))
        when = parse_http_date(date)
        if when is not None:
            self.last_date = when
        if _http.looks_like_error(body):
            raise _http.disguised_error(body, "GET", path)
        return Reply(body, when)
