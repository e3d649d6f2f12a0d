"""The OAuth2 access token of one hook: fetched lazily, cached, renewed early, one renewal at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Renew this long before expiry at the latest (unless the token lives too short for it to make sense).
EARLY_RENEWAL_SECONDS = 60.0
#: ... and at the latest after this share of the token's life.
RENEWAL_SHARE = 0.8


@dataclass(frozen=True)
class Token:
    """An access token and when to stop using it.

    :param renew_at: ``time.monotonic()`` after which the token is renewed before use; None when the
        server gave no lifetime (the token is then renewed only when a request gets a 401).
    """

    value: str = field(repr=False)
    renew_at: float | None
    expires_in: float | None = None

    def fresh(self, now: float) -> bool:
        return self.renew_at is None or now < self.renew_at


def renewal_delay(expires_in: float | None) -> float | None:
    """Seconds after issue to renew a token living ``expires_in`` seconds.

    The sooner of 80% of its life and 60 s before expiry; for short-lived tokens (where 60 s early
    would be before issue) never sooner than half its life, so a token is always used for a while.
    """
    if expires_in is None:
        return None
    return max(expires_in * 0.5, min(expires_in * RENEWAL_SHARE, expires_in - EARLY_RENEWAL_SECONDS))


class TokenManager:
    """Hand out a valid token; renew it with ``fetch`` when due, under a lock.

    :param fetch: requests a new token from the server and returns ``(value, expires_in)``; it
        is called by one thread at a time and must register the value with the secrets masker.
    """

    def __init__(self, fetch: Callable[[], tuple[str, float | None]]) -> None:
        self._fetch = fetch
        self._token: Token | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        """Return a token that is not due for renewal, fetching one if needed."""
        token = self._token
        # Fast path without the lock: reading a reference is atomic.
        if token is not None and token.fresh(time.monotonic()):
            return token.value
        with self._lock:
            token = self._token
            if token is None or not token.fresh(time.monotonic()):
                token = self._renew()
            return token.value

    @property
    def expires_in(self) -> float | None:
        """The lifetime in seconds the server gave the current token (None: none given, or no token)."""
        token = self._token
        return token.expires_in if token is not None else None

    def invalidate(self, value: str) -> None:
        """Forget ``value`` after the server refused it (401), unless another thread already renewed it."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def clear(self) -> None:
        """Forget any token."""
        with self._lock:
            self._token = None

    def _renew(self) -> Token:
        issued = time.monotonic()
        value, expires_in = self._fetch()
        delay = renewal_delay(expires_in)
        self._token = Token(value, None if delay is None else issued + delay, expires_in)
        return self._token
