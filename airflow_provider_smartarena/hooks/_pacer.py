"""Client-side pacing, so that a throttled tenant's long load completes instead of collecting 429s.

Laravel's default throttle allows 60 requests a minute per client and says so in every answer
(``X-RateLimit-Limit``, ``X-RateLimit-Remaining``; on a 429 also ``Retry-After`` and
``X-RateLimit-Reset``). The pacer spaces requests evenly at the stricter of the configured rate
(``max_requests_per_minute``) and the learned one, and holds every thread when the server says
the quota is spent. One pacer per hook: concurrent paging threads take successive slots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

#: Spacing slightly wider than the limit: a fixed window counted by the server starts when its
#: first request arrives, and a request landing on the window's very edge would be refused.
SAFETY = 1.1


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and 0 <= number < 1e12 else None


class Pacer:
    """Hand out request slots no closer than the rate limit allows.

    :param max_per_minute: the configured rate (None: only what the server's headers teach).
    :param window: the period the server's ``X-RateLimit-Limit`` counts over, seconds (Laravel's
        ``throttle:60,1`` is 60 per minute; the headers do not say).
    """

    def __init__(
        self,
        max_per_minute: float | None = None,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.window = window
        self._configured = 60.0 / max_per_minute if max_per_minute else 0.0
        self._learned = 0.0
        self._next = 0.0
        self._hold_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        """Seconds between two request starts (0: unpaced)."""
        return max(self._configured, self._learned)

    def wait(self) -> float:
        """Block until this caller's slot; return the seconds waited."""
        interval = self.interval
        if not interval and not self._hold_until:
            return 0.0  # the common case of an unthrottled tenant costs no lock
        with self._lock:
            now = self._clock()
            start = max(now, self._next, self._hold_until)
            self._next = start + interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)

    def observe(self, headers: Mapping[str, str], retry_after: float | None = None) -> None:
        """Learn from an answer's rate-limit headers (and a 429's ``Retry-After``)."""
        limit = _number(headers, "X-RateLimit-Limit")
        remaining = _number(headers, "X-RateLimit-Remaining")
        if limit is None and remaining is None and retry_after is None:
            return
        with self._lock:
            now = self._clock()
            if limit:
                self._learned = self.window / limit * SAFETY
            hold = retry_after
            if hold is None and remaining is not None and remaining < 1:
                reset = _number(headers, "X-RateLimit-Reset")  # a Unix time, in Laravel
                hold = reset - time.time() if reset is not None else self.interval
            if hold is not None and hold > 0:
                self._hold_until = max(self._hold_until, now + min(hold, self.window * 2))
