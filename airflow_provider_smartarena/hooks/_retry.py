"""When to retry a request and how long to wait before the next attempt.

Exponential backoff with full jitter (a uniform wait between 0 and ``base * 2**retry``, capped),
because many workers that failed together should not come back together. A server's
``Retry-After`` (seconds or an HTTP date) is honoured; ``0``, a date in the past or garbage fall back
to the backoff, since an immediate retry is what the server is shedding.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx (a gateway may invent codes such as 520-530)."""
    return status == 429 or 500 <= status <= 599


def parse_http_date(value: str | None) -> dt.datetime | None:
    """Parse an HTTP date (``Date``, ``Retry-After``) into an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000" means UTC without a claim about local time
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # "31 Dec 9999 23:59 -0500" is past datetime.max in UTC: unusable
        return None


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds the server asks us to wait, or None when the header is absent, zero or unusable.

    :param value: the ``Retry-After`` header: delta-seconds or an HTTP date.
    :param now: the time the date form is measured from (best: the response's own ``Date``, so a
        skewed local clock does not matter).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        seconds = (when - now).total_seconds() if when is not None else 0.0
    if seconds != seconds or seconds <= 0 or seconds == float("inf"):
        return None
    return seconds


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, and how long between them.

    :param max_retries: retries after the first attempt (so ``max_retries + 1`` attempts at most).
    :param backoff: base of the exponential backoff, seconds.
    :param max_wait: cap on any single wait, seconds.
    """

    max_retries: int = 5
    backoff: float = 1.0
    max_wait: float = 30.0

    def backoff_wait(self, retry: int) -> float:
        """Full-jitter wait before retry number ``retry`` (0-based)."""
        ceiling = min(self.max_wait, self.backoff * (2 ** min(retry, 30)))
        return random.uniform(0, ceiling)

    def wait(self, retry: int, retry_after: float | None) -> float:
        """The wait before retry ``retry``: the server's ``Retry-After`` when given, else the backoff."""
        if retry_after is not None:
            return retry_after
        return self.backoff_wait(retry)
