"""Datetime values as the API writes them: their format, their parsed value, and UTC offsets."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from typing import Any

from airflow_provider_smartarena.probe.model import DatetimeCheck
from airflow_provider_smartarena.resources import DATETIME_FORMAT

#: The documented form of API datetimes.
DOCUMENTED = "YYYY-MM-DD HH:MM:SS"

_ISO_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:(?P<sep>[T ])(?P<hms>\d{2}:\d{2}(?::\d{2})?)(?P<frac>[.,]\d+)?(?P<zone>Z|[+-]\d{2}:?\d{2})?)?$"
)
#: Regions listed first when naming example zones: the most familiar names, not "Etc/GMT-1".
_REGIONS = ("Europe", "America", "Asia", "Australia", "Africa", "Pacific", "Atlantic", "Indian")


def shape(value: Any) -> str:
    """The format of one value, e.g. ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number (Unix time?)"
    if not isinstance(value, str):
        return type(value).__name__
    match = _ISO_RE.match(value.strip())
    if match is None:
        return "unrecognised"
    label = "YYYY-MM-DD"
    if match["sep"]:
        label += match["sep"] + ("HH:MM:SS" if len(match["hms"]) == 8 else "HH:MM")
        label += "." + "f" * (len(match["frac"]) - 1) if match["frac"] else ""
        zone = match["zone"]
        label += "" if not zone else ("Z" if zone == "Z" else "+HH:MM")
    return label


def offset_in(value: Any) -> str | None:
    """The UTC offset written in a value (``Z`` or ``+02:00``), if any."""
    match = _ISO_RE.match(value.strip()) if isinstance(value, str) else None
    return match["zone"] if match and match["zone"] else None


def check_field(name: str, records: Iterable[dict[str, Any]]) -> DatetimeCheck | None:
    """Summarise the format of field ``name`` over ``records``; None when no record has the field."""
    values = [r[name] for r in records if name in r]
    if not values:
        return None
    present = [v for v in values if v not in (None, "")]
    formats = Counter(shape(v) for v in present)
    offsets = sorted({o for o in (offset_in(v) for v in present) if o})
    return DatetimeCheck(
        field=name,
        formats=dict(formats.most_common()),
        example=str(present[0]) if present else None,
        nulls=len(values) - len(present),
        documented=bool(present) and set(formats) == {DOCUMENTED},
        offsets=offsets,
    )


def parse(value: Any, zone: dt.tzinfo | None = None) -> dt.datetime | None:
    """A value as a naive datetime: the wall clock as written, or, when the value has an offset,
    the wall clock in ``zone`` (UTC without one).

    A value with an offset is an instant (Laravel 7+ writes UTC instants while its ``updated_at``
    filter reads local time), so it is compared with the filter on the filter's clock: the
    connection's zone, which the provider converts such values to as well.
    """
    if not isinstance(value, str) or _ISO_RE.match(value.strip()) is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(",", "."))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone or dt.UTC).replace(tzinfo=None)
    return parsed


def to_text(value: dt.datetime) -> str:
    """A naive datetime in the documented filter form, whole seconds."""
    return value.replace(microsecond=0).strftime(DATETIME_FORMAT)


def format_offset(seconds: float) -> str:
    """``+01:00``, ``-03:30`` (rounded to the minute)."""
    minutes = round(seconds / 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def format_span(seconds: float) -> str:
    """A signed duration for people: ``+1:00:03``, ``-0:12:00``, ``+3 days, 2:00:00``."""
    sign = "-" if seconds < 0 else "+"
    return sign + str(dt.timedelta(seconds=round(abs(seconds))))


@functools.lru_cache(maxsize=8)
def _zone_offsets(hour: dt.datetime) -> dict[int, tuple[str, ...]]:
    """Every IANA zone's offset (seconds) at ``hour``, with the zones that have it, familiar first."""
    names = [n for n in zoneinfo.available_timezones() if "/" in n and n.split("/", 1)[0] in _REGIONS]
    by_offset: dict[int, list[str]] = {}
    for name in names:
        offset = hour.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
        if offset is not None:
            by_offset.setdefault(int(offset.total_seconds()), []).append(name)
    return {
        offset: tuple(sorted(zones, key=lambda n: (_REGIONS.index(n.split("/", 1)[0]), n)))
        for offset, zones in by_offset.items()
    }


def real_offsets(when: dt.datetime) -> dict[int, tuple[str, ...]]:
    """The UTC offsets (seconds) some time zone has at ``when`` (aware), each with example zones."""
    hour = when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return _zone_offsets(hour)
