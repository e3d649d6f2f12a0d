"""The sandbox clock and the API's date/time formats (datetimes travel in the server time zone)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


class SandboxClock:
    """Real time shifted by an offset, or a frozen instant that only moves when advanced.

    Times are epoch seconds (UTC); formatting into the server time zone happens at the edges.
    """

    def __init__(self, frozen_at: float | None = None, offset: float = 0.0) -> None:
        self._frozen_at = frozen_at
        self._offset = offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> float:
        base = self._frozen_at if self._frozen_at is not None else time.time()
        return base + self._offset

    def now_int(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def set_now(self, epoch: float, frozen: bool) -> None:
        if frozen:
            self._frozen_at, self._offset = epoch, 0.0
        else:
            self._frozen_at, self._offset = None, epoch - time.time()

    def snapshot(self) -> dict[str, Any]:
        return {"frozen_at": self._frozen_at, "offset": self._offset}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> SandboxClock:
        return cls(frozen_at=data.get("frozen_at"), offset=float(data.get("offset") or 0.0))


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def format_datetime(epoch: int | None, zone: ZoneInfo) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, zone).strftime(DATETIME_FORMAT)


def format_date(epoch: int | None, zone: ZoneInfo) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, zone).strftime(DATE_FORMAT)


def parse_date(text: str) -> date | None:
    """A strict ``yyyy-mm-dd`` calendar date, or None."""
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_datetime(text: str, zone: ZoneInfo) -> int | None:
    """Epoch seconds of a date or datetime; naive values are read in ``zone``. None when unparseable.

    Accepts ``yyyy-mm-dd`` (midnight), ``yyyy-mm-dd HH:MM[:SS[.ffffff]]``, a ``T`` separator and an
    optional ``Z``/``+hh:mm`` offset. Fractions of a second are dropped (the API has whole seconds).
    """
    text = text.strip()
    day = parse_date(text)
    if day is not None:
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
    match = _DATETIME_RE.match(text)
    if not match:
        return None
    day_text, hour, minute, second, _fraction, offset = match.groups()
    day = parse_date(day_text)
    if day is None:
        return None
    try:
        moment = datetime(day.year, day.month, day.day, int(hour), int(minute), int(second or 0))
    except ValueError:
        return None
    tzinfo: Any = zone if offset is None else _offset_zone(offset)
    return int(moment.replace(tzinfo=tzinfo).timestamp())


def _offset_zone(offset: str) -> timezone:
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


class DateTimeFormatter:
    """Fast ``YYYY-MM-DD HH:MM:SS`` formatting in one zone, caching the UTC offset per hour.

    An hour whose offset differs at its start and end (a DST change) is formatted the slow, exact way.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._offsets: dict[int, int | None] = {}

    @classmethod
    def for_zone(cls, zone: ZoneInfo) -> DateTimeFormatter:
        """The zone's shared formatter: offsets are facts of the zone, so every response reuses them."""
        formatter = _FORMATTERS.get(zone.key)
        if formatter is None or formatter.zone is not zone:
            formatter = _FORMATTERS[zone.key] = cls(zone)
        return formatter

    def __call__(self, epoch: int | None) -> str | None:
        if epoch is None:
            return None
        hour = epoch // 3600
        offset = self._offsets.get(hour, -1)
        if offset == -1:
            offset = self._offsets[hour] = self._hour_offset(hour)
        if offset is None:
            return format_datetime(epoch, self.zone)
        return time.strftime(DATETIME_FORMAT, time.gmtime(epoch + offset))

    def _hour_offset(self, hour: int) -> int | None:
        first = datetime.fromtimestamp(hour * 3600, self.zone).utcoffset()
        last = datetime.fromtimestamp(hour * 3600 + 3599, self.zone).utcoffset()
        if first is None or first != last:
            return None
        return int(first.total_seconds())


_FORMATTERS: dict[str, DateTimeFormatter] = {}
