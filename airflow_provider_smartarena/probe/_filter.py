"""Does ``updated_at=V`` mean "changed strictly after V"? Tried on one activity.

Take an activity R stamped V. Read page 1 of ``updated_at=V-1s``: R must be there. Read page 1 of
``updated_at=V``: R must not be, nor anything stamped V or earlier. Only page 1 is read, so absence
counts only when the page is complete, or sorted by ``updated_at`` and already past V (R would have
been listed before). The sample is best a recent activity (few rows after it); the time zone
check's newest one is used when there is one, else the newest on the unfiltered page 1.

Outcomes: ``strict`` (as modelled); ``inclusive`` (rows stamped exactly V come back: harmless, the
extraction de-duplicates them, but it hints at sub-second stamps); ``ignored`` (rows older than V come
back: the filter is ignored, or reads the value in another time zone; harmless but slow); ``misses``
(R is not returned even after V-1s: the filter compares another clock or column, so the extraction
would lose rows; wider margins are tried to size the overlap); ``undetermined``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow_provider_smartarena.probe import _datetimes
from airflow_provider_smartarena.probe._activities import ActivityReader, Slice, identity, updated
from airflow_provider_smartarena.probe.model import FilterCheck

#: Margins below ``V-1s`` tried when ``V-1s`` does not return the sample, seconds: sizing the overlap.
MARGINS = (60, 300, 900, 3600, 7200, 86400)


def contains(page: Slice, key: tuple[Any, ...], stamp: dt.datetime) -> bool | None:
    """Whether the activity ``key`` (stamped ``stamp``) matches the filter of ``page``; None: unknown."""
    if any(identity(r) == key for r in page.records):
        return True
    if page.complete:
        return False
    stamps = page.stamps
    if len(stamps) == len(page.records) and stamps:
        # A page sorted by updated_at that has gone past the stamp would have listed the activity.
        if stamps == sorted(stamps) and stamps[-1] > stamp:
            return False
        if stamps == sorted(stamps, reverse=True) and stamps[-1] < stamp:
            return False
    return None


def check(reader: ActivityReader, sample: dict[str, Any] | None) -> FilterCheck:
    """Try the filter on ``sample`` (an activity record with an ``updated_at``)."""
    stamp = updated(sample) if sample else None
    if sample is None or stamp is None:
        return FilterCheck("undetermined", "no activity with a readable updated_at to try it on")
    key = identity(sample)
    result = FilterCheck("undetermined", "", _describe(sample))
    before = reader.after(stamp - dt.timedelta(seconds=1))
    at = reader.after(stamp)
    _judge(result, reader, key, stamp, before, at)
    result.requests = reader.requests
    return result


def _judge(
    result: FilterCheck,
    reader: ActivityReader,
    key: tuple[Any, ...],
    stamp: dt.datetime,
    before: Slice,
    at: Slice,
) -> None:
    value = _datetimes.to_text(stamp)
    earlier = dt.timedelta(seconds=1)
    if at.older or before.older:
        result.verdict = "ignored"
        older = [s for page in (at, before) for s in map(updated, page.older) if s is not None]
        gap = _datetimes.format_span((stamp - min(older)).total_seconds()).lstrip("+")
        result.explanation = (
            f"updated_at={value} returned activities stamped up to {gap} earlier: the filter is "
            "ignored, or reads the value in another time zone"
        )
    elif contains(at, key, stamp) or any(s == stamp for s in at.stamps):
        result.verdict = "inclusive"
        result.explanation = (
            f"updated_at={value} returns activities stamped exactly {value} (at-or-after, or stamps "
            "finer than a second): boundary rows are read twice and de-duplicated"
        )
    elif (found := contains(before, key, stamp)) and contains(at, key, stamp) is False:
        result.verdict = "strict"
        result.explanation = (
            f"updated_at={_datetimes.to_text(stamp - earlier)} returns the sample, updated_at={value} "
            "does not: strictly after, as modelled"
        )
    elif found is False:
        _size_miss(result, reader, key, stamp)
    else:
        result.explanation = "the sample was not on page 1 of the filtered reads; cannot tell"


def _size_miss(result: FilterCheck, reader: ActivityReader, key: tuple[Any, ...], stamp: dt.datetime) -> None:
    """The filter missed the sample just below its stamp: find the margin that catches it."""
    result.verdict = "misses"
    just_before = stamp - dt.timedelta(seconds=1)
    for margin in MARGINS:
        found = contains(reader.after(just_before - dt.timedelta(seconds=margin)), key, stamp)
        if found:
            # An overlap of `margin` would still lose a row stamped a second after the watermark.
            result.overlap_needed_seconds = margin + 1
            result.explanation = (
                f"updated_at={_datetimes.to_text(just_before)} does not return an activity stamped "
                f"{_datetimes.to_text(stamp)}; {margin} s earlier does: the filter compares another "
                "clock or column"
            )
            return
        if found is None:
            break
    result.explanation = (
        f"updated_at={_datetimes.to_text(just_before)} does not return an activity stamped "
        f"{_datetimes.to_text(stamp)}, nor with the margins tried: the filter compares another clock "
        "or column"
    )


def _describe(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample as shown in the report: keys only, no names or e-mail addresses."""
    return {
        "user_mapping_code": sample.get("user_mapping_code"),
        "course_mapping_code": sample.get("course_mapping_code"),
        "updated_at": sample.get("updated_at"),
    }
