"""Do ``updated_at`` values look like UTC or like local time? Inferred from the server's ``Date``.

The heuristic. A change made now is stamped ``now`` on the server's wall clock: UTC now plus the
zone's offset. So the newest ``updated_at`` M, compared with the ``Date`` header D (always UTC),
gives ``M - D = offset - age`` where ``age`` is how long ago the newest change happened. Hence:

* ``M - D`` is a *lower bound* of the offset (rows are not stamped in the future);
* ``M - D`` within a couple of minutes of 0: the newest change is fresh and stamped in UTC (``utc``);
* ``M - D`` just below a real zone offset (within 15 minutes of e.g. +01:00): local time at that
  offset, the newest change minutes old (``local``);
* ahead of UTC, but not near any offset: rows dated in the future, or local time with an older
  newest change (``ahead``): the offset cannot be named, though a connection zone west of M-D is
  certainly wrong;
* behind UTC: UTC with a quiet spell, or a zone west of UTC (``behind``): nothing can be concluded.

M is found without reading the whole history: only rows changed within 14 hours before to 15
hours after D (every zone's offset lies within UTC-12..UTC+14) can tell anything, and the newest
one is found by bisection on the ``updated_at`` filter ("anything changed after X?"), reading page 1
only, a dozen small requests at most. The limits: a tenant with no change in the last 14 hours (the
sandbox's seeded history lies in the past: tick it first) gives ``no-recent-data``; rows dated more
than 15 hours ahead defeat the search (``future-rows``); DST changes within the window and a server
whose clock is off skew the estimate by as much.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.probe import _datetimes
from airflow_provider_smartarena.probe._activities import ActivityReader, Slice, updated
from airflow_provider_smartarena.probe.model import TimezoneCheck

#: Rows changed this long before the server's clock read as UTC are looked at (UTC-12 and an hour).
WINDOW_BEFORE = dt.timedelta(hours=14)
#: ... and this long after it (UTC+14 and an hour).
WINDOW_AFTER = dt.timedelta(hours=15)
#: Clock resolution, latency and skew between the server's clock and its database's.
TOLERANCE = 120.0
#: How old the newest change may be for its stamp to still name the offset it was written in.
FRESH = 15 * 60.0
#: The bisection stops when the newest change is known to within this many seconds.
PRECISION = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class _Clock:
    """The server's clock (``Date``, aware UTC) and the connection's zone, for one inference."""

    server: dt.datetime
    zone: ZoneInfo

    @property
    def utc_wall(self) -> dt.datetime:
        """The server's clock as a naive UTC wall clock, comparable with stamps and filter values."""
        return self.server.astimezone(dt.UTC).replace(tzinfo=None)

    @property
    def configured_offset(self) -> float:
        offset = self.zone.utcoffset(self.server)
        return offset.total_seconds() if offset is not None else 0.0


def infer(
    reader: ActivityReader, server_date: dt.datetime | None, zone: ZoneInfo
) -> tuple[TimezoneCheck, dict[str, Any] | None]:
    """Find the newest ``updated_at`` near the server's clock and say what zone it was written in.

    :param server_date: the ``Date`` header of a recent reply (aware UTC).
    :param zone: the connection's time zone.
    :returns: the check, and the newest activity found (a good sample for the filter check).
    """
    when = server_date or dt.datetime.now(dt.UTC)
    offset = zone.utcoffset(when)
    check = TimezoneCheck(
        verdict="undetermined",
        explanation="the server sends no usable Date header",
        configured=f"{zone.key} (UTC{_datetimes.format_offset(offset.total_seconds() if offset else 0)})",
        server_date=server_date.strftime("%Y-%m-%d %H:%M:%S UTC") if server_date else None,
    )
    page = _search(check, reader, _Clock(server_date, zone)) if server_date is not None else None
    check.requests = reader.requests
    return check, page.newest if page is not None else None


def _search(check: TimezoneCheck, reader: ActivityReader, clock: _Clock) -> Slice | None:
    """Find the newest stamp within the window around the server's clock, then classify it.

    :returns: the page that holds the newest activity found, if any.
    """
    low, high = clock.utc_wall - WINDOW_BEFORE, clock.utc_wall + WINDOW_AFTER
    first = reader.after(low)
    last = reader.after(high) if first.records and not first.complete else None
    if first.older or (last is not None and last.older):
        check.explanation = (
            "the updated_at filter returned activities stamped before the value sent (it is ignored, or "
            "reads the value in another time zone): the newest change cannot be found with it"
        )
    elif not first.records:
        check.verdict = "no-recent-data"
        check.explanation = (
            f"no activity changed after {_datetimes.to_text(low)} (the server's clock read as UTC, "
            "minus 14 h): without a recent change the zone cannot be told; re-run while learners are active"
        )
    elif first.complete:
        _classify(check, clock, max(first.stamps), True, first)
        return first
    elif last is not None and last.records:
        check.verdict = "future-rows"
        check.explanation = (
            f"activities are stamped after {_datetimes.to_text(high)}, more than 15 h ahead of the "
            "server's clock: dated in the future, so the newest change cannot be found"
        )
    else:
        newest, exact, page = _bisect(reader, low, high, first)
        _classify(check, clock, newest, exact, page)
        return page
    return None


def _bisect(
    reader: ActivityReader, low: dt.datetime, high: dt.datetime, best: Slice
) -> tuple[dt.datetime, bool, Slice]:
    """The newest stamp in ``(low, high]``, given rows after ``low`` and none after ``high``.

    :returns: the stamp (exact, or a lower bound within :data:`PRECISION`), whether it is exact, and
        the last non-empty page read.
    """
    while high - low > PRECISION:
        middle = (low + (high - low) / 2).replace(microsecond=0)
        found = reader.after(middle)
        if not found.records:
            high = middle
            continue
        low, best = middle, found
        if found.complete:
            return max(found.stamps), True, found
    return max([low, *best.stamps]), False, best


def _classify(check: TimezoneCheck, clock: _Clock, newest: dt.datetime, exact: bool, page: Slice) -> None:
    """Fill the verdict from the newest stamp (see the module's heuristic)."""
    ahead = (newest - clock.utc_wall).total_seconds()
    record = page.newest
    shown = record.get("updated_at") if record is not None and updated(record) == newest else None
    check.newest_updated_at = str(shown) if shown else _datetimes.to_text(newest)
    check.exact, check.ahead_seconds = exact, ahead
    offset = 0 if abs(ahead) <= TOLERANCE else _name_offset(ahead, clock.server)
    span = _datetimes.format_span(ahead)
    if offset == 0:
        check.verdict = "utc"
        check.explanation = f"the newest change is stamped {span} from the server's clock in UTC: UTC"
    elif offset is not None:
        check.verdict = "local"
        check.explanation = (
            f"the newest change is stamped {span} ahead of the server's clock in UTC: local time at "
            f"UTC{_datetimes.format_offset(offset)}, its newest change then made {_age(offset - ahead)} ago"
        )
    elif ahead > 0:
        check.verdict = "ahead"
        check.explanation = (
            f"the newest change is stamped {span} ahead of the server's clock in UTC, not near any "
            "zone's offset: local time east of UTC with an older newest change, or rows dated in the future"
        )
    else:
        check.verdict = "behind"
        check.explanation = (
            f"the newest change is stamped {span} from the server's clock in UTC: UTC with no change "
            "since, or a zone west of UTC; cannot tell which"
        )
    if offset is not None:
        check.offset = _datetimes.format_offset(offset)
        check.candidates = list(_datetimes.real_offsets(clock.server).get(offset, ())[:3])
        check.matches_connection = offset == clock.configured_offset
    if ahead > clock.configured_offset + TOLERANCE:
        check.matches_connection = False  # stamped later than "now" in the connection's zone


def _name_offset(ahead: float, when: dt.datetime) -> int | None:
    """The smallest real zone offset above ``ahead``, if under it the newest change would be fresh."""
    if ahead <= TOLERANCE:
        return None
    above = [o for o in _datetimes.real_offsets(when) if o >= ahead - TOLERANCE]
    offset = min(above, default=None)
    return offset if offset is not None and offset - ahead <= FRESH else None


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
