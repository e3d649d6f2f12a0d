"""Client-side pacing, so that a throttled tenant's long load completes in the time the throttle allows.

Laravel's default throttle allows 60 requests a minute per client and says so in every answer
(``X-RateLimit-Limit``, ``X-RateLimit-Remaining``; on a 429 also ``Retry-After`` and
``X-RateLimit-Reset``). The pacer spaces requests evenly at the configured rate
(``max_requests_per_minute``). What the headers teach is spent, not spread: while the server says
requests remain in its window (less those already on their way), they go at once; only when the
quota is spent are requests spaced at the learned rate, and a 429's ``Retry-After`` (or a
``X-RateLimit-Reset``) holds every thread until the window closes. Laravel counts a fixed window, so
spending it and then waiting is the least time the throttle allows; spreading every request at the
learned rate cost a load that fits in the quota a second a request for nothing.
That costs about one 429 a window (the request that finds it closed learns when it reopens),
refused before any work. One pacer per hook, shared by concurrent paging threads.
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
        #: Requests the server still allows (its last X-RateLimit-Remaining less those sent since);
        #: None when unknown (no headers yet, or a window has closed since).
        self._budget: int | None = None
        #: Requests handed a slot and not yet observed: they count against the quota already.
        self._in_flight = 0
        self._next = 0.0
        self._hold_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @property
    def interval(self) -> float:
        """Seconds between two request starts now (0: unpaced)."""
        spent = self._budget is not None and self._budget <= 0
        return max(self._configured, self._learned if spent else 0.0)

    def wait(self) -> float:
        """Block until this caller's slot; return the seconds waited."""
        if not self._configured and not self._learned and not self._hold_until:
            return 0.0  # the common case of an unthrottled tenant costs no lock
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._next, self._hold_until)
                if start <= now:
                    self._in_flight += 1
                    if self._budget is not None:
                        self._budget -= 1
                    self._next = now + self.interval
                    return waited
            # No slot is reserved while asleep: whoever wakes first takes the next one, and a hold
            # that a 429 set meanwhile stops the rest (a reserved slot would walk into it).
            self._sleep(start - now)
            waited += start - now

    def observe(self, headers: Mapping[str, str], retry_after: float | None = None) -> None:
        """Learn from an answer's rate-limit headers (and a 429's ``Retry-After``)."""
        limit = _number(headers, "X-RateLimit-Limit")
        remaining = _number(headers, "X-RateLimit-Remaining")
        if limit is None and remaining is None and retry_after is None and not self._in_flight:
            return  # an unthrottled tenant's answers cost no lock either
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if limit is None and remaining is None and retry_after is None:
                return
            now = self._clock()
            if limit:
                self._learned = self.window / limit * SAFETY
            if remaining is not None:
                # The answers of requests still on their way will each have used one more.
                self._budget = int(remaining) - self._in_flight
            hold = retry_after
            reset_known = False
            if hold is None and remaining is not None and remaining < 1:
                reset = _number(headers, "X-RateLimit-Reset")  # a Unix time, in Laravel
                reset_known = reset is not None
                hold = reset - time.time() if reset is not None else self.interval
            if hold is not None and hold > 0:
                self._hold_until = max(self._hold_until, now + min(hold, self.window * 2))
                if retry_after is not None or reset_known:
                    # A new window opens when the hold ends: its quota is unknown until answered.
                    self._budget = None
