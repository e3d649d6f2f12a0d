"""Reading an Airflow connection into checked hook settings.

Extras arrive as JSON from the UI, from environment variables or from secrets backends, so every
value may be a string (``"true"``, ``"30"``, ``""``); each is parsed here, and a value that makes no
sense raises :class:`SmartArenaConfigError` naming the extra and what it accepts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_smartarena.exceptions import SmartArenaConfigError

DEFAULT_BASE_URL = "https://esmartarena.com"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
#: The largest decoded response body accepted (64 MiB: about 400 pages' worth of activities).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: The longest ``Retry-After`` honoured; Laravel's default throttle asks for up to 60 s.
DEFAULT_MAX_RETRY_WAIT = 120.0

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f"})


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the hook needs from a connection, checked.

    :param base_url: scheme, host, optional port and path prefix, without a trailing slash.
    :param verify: ``True``, ``False`` or the path of a CA bundle (as ``requests`` takes it).
    """

    base_url: str
    client_id: str
    client_secret: str
    timezone: ZoneInfo
    timeout: float
    verify: bool | str
    max_retries: int
    page_size: int | None
    allow_insecure_http: bool
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    max_requests_per_minute: float | None = None

    def __repr__(self) -> str:
        # The dataclass repr would print the client secret.
        return f"ConnectionSettings(base_url={self.base_url!r}, client_id={self.client_id!r})"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_bool(name: str, value: Any, default: bool) -> bool:
    """Parse a boolean extra: a bool, 0/1, or true/false/yes/no/on/off in any case."""
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise SmartArenaConfigError(f"connection extra {name!r} must be true or false, got {value!r}")


def parse_number(name: str, value: Any, default: float | None, *, integer: bool, minimum: float) -> Any:
    """Parse a numeric extra (a number or numeric string) no smaller than ``minimum``."""
    if _blank(value):
        return default
    kind = "a whole number" if integer else "a number"
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip()) if isinstance(value, str) else float(value)
        if integer:
            if not number.is_integer():
                raise ValueError
            number = int(number)
    except (TypeError, ValueError):
        raise SmartArenaConfigError(
            f"connection extra {name!r} must be {kind} >= {minimum:g}, got {value!r}"
        ) from None
    if number < minimum or number != number:  # also rejects NaN
        raise SmartArenaConfigError(f"connection extra {name!r} must be {kind} >= {minimum:g}, got {value!r}")
    return number


def parse_verify(value: Any) -> bool | str:
    """Parse ``verify_ssl``: true (default), false, or the path of an existing CA bundle."""
    if _blank(value):
        return True
    if isinstance(value, bool | int) or (isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE):
        return parse_bool("verify_ssl", value, True)
    if isinstance(value, str) and os.path.exists(os.path.expanduser(value.strip())):
        return os.path.expanduser(value.strip())
    raise SmartArenaConfigError(
        f"connection extra 'verify_ssl' must be true, false or the path of a CA bundle file; "
        f"{value!r} is none of these (no such file)"
    )


def parse_timezone(value: Any) -> ZoneInfo:
    """Parse ``timezone``: an IANA name such as ``Europe/Ljubljana`` (default UTC)."""
    if _blank(value):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(str(value).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SmartArenaConfigError(
            f"connection extra 'timezone' must be an IANA time zone name such as 'UTC' or "
            f"'Europe/Ljubljana', got {value!r}"
        ) from None


def is_loopback(hostname: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: where a clear-text token never leaves the machine.

    Only literal addresses and the name ``localhost`` count; nothing is resolved.
    """
    name = hostname.strip("[]").lower()
    # Only the name itself: "*.localhost" is loopback by RFC 6761, but resolvers that send such
    # names to DNS exist, so "evil.example;.localhost" could leave the machine.
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


_USER_INFO_REFUSED = (
    "connection host must not carry credentials (user:password@host): put the client id in the "
    "connection's login field and the client secret in its password field"
)


def _shown(text: str) -> str:
    """``text`` safe to quote in an error: anything before an ``@`` (user info) is never shown."""
    if "@" not in text:
        return repr(text)
    scheme, sep, rest = text.partition("://")
    return repr(f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}" if sep else f"***@{text.rsplit('@', 1)[1]}")


def build_base_url(host: str | None, port: int | None, schema: str | None) -> str:
    """Build the base URL from the connection's host (a URL or a bare host name) and port.

    :raises SmartArenaConfigError: the host is not a plain http(s) URL; a host carrying user info
        (``https://cid:secret@host``) is refused first, whatever else is wrong with it, and the
        user info is never quoted.
    """
    text = (host or "").strip() or DEFAULT_BASE_URL
    # Before any other check: every later message quotes the host, and user info holds a secret.
    # Any "@" counts: parsers disagree on where the authority ends ("a.example\\@127.0.0.1").
    if "@" in re.split(r"[/?#]", text.split("://", 1)[-1], maxsplit=1)[0]:
        raise SmartArenaConfigError(_USER_INFO_REFUSED)
    if "://" not in text:
        scheme = schema.strip().lower() if schema and schema.strip().lower() in ("http", "https") else "https"
        text = f"{scheme}://{text}"
    # Parsers disagree on back-slashes ("http://a.example\\x.127.0.0.1"): such a URL could slip
    # past check_transport.
    if "\\" in text or any(ch.isspace() for ch in text):
        raise SmartArenaConfigError(
            f"connection host must not contain back-slashes or spaces, got {_shown(text)}"
        )
    parts = urlsplit(text)
    if "@" in parts.netloc:
        raise SmartArenaConfigError(_USER_INFO_REFUSED)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmartArenaConfigError(
            f"connection host must be an http(s) URL such as {DEFAULT_BASE_URL}, got {_shown(text)}"
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def check_transport(base_url: str, allow_insecure_http: bool) -> None:
    """Refuse plain http to a remote host: the bearer token would cross the network in clear."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname or ""):
        raise SmartArenaConfigError(
            f"refusing plain http:// to {parts.hostname}: the access token would travel unencrypted. "
            "Use https://, or set the connection extra allow_insecure_http to true if the network "
            "is trusted."
        )


def read_settings(
    *,
    host: str | None,
    port: int | None,
    schema: str | None,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> ConnectionSettings:
    """Check a connection's fields and extras; ``overrides`` (hook arguments) win over extras."""

    def pick(name: str) -> Any:
        return overrides[name] if overrides.get(name) is not None else extras.get(name)

    if _blank(login) or _blank(password):
        raise SmartArenaConfigError(
            "the connection needs the OAuth2 client id as login and the client secret as password"
        )
    allow_insecure = parse_bool("allow_insecure_http", extras.get("allow_insecure_http"), False)
    base_url = build_base_url(host, port, schema)
    check_transport(base_url, allow_insecure)
    return ConnectionSettings(
        base_url=base_url,
        client_id=str(login).strip(),
        client_secret=str(password),
        timezone=parse_timezone(extras.get("timezone")),
        timeout=parse_number("timeout", pick("timeout"), DEFAULT_TIMEOUT, integer=False, minimum=0.001),
        verify=parse_verify(extras.get("verify_ssl")),
        max_retries=parse_number(
            "max_retries", pick("max_retries"), DEFAULT_MAX_RETRIES, integer=True, minimum=0
        ),
        page_size=parse_number("page_size", pick("page_size"), None, integer=True, minimum=1),
        allow_insecure_http=allow_insecure,
        max_response_bytes=parse_number(
            "max_response_bytes",
            pick("max_response_bytes"),
            DEFAULT_MAX_RESPONSE_BYTES,
            integer=True,
            minimum=1024,
        ),
        max_retry_wait=parse_number(
            "max_retry_wait", pick("max_retry_wait"), DEFAULT_MAX_RETRY_WAIT, integer=False, minimum=0
        ),
        max_requests_per_minute=parse_number(
            "max_requests_per_minute", pick("max_requests_per_minute"), None, integer=False, minimum=0.01
        ),
    )
