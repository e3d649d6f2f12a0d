"""The learning-activity checks shared by the sensors (``poke``) and the triggers (off the event loop).

Both modes call the same plain functions of a hook, so they decide the same way.

Progress order of an activity's ``status``: ``NOT_STARTED (0) < STARTED (1) < FINISHED (2)``, and
then two end states, ``CERTIFIED (3)`` and ``CONDITIONS_MET (4)``, each of which implies the course
was finished, but neither of which implies the other (a certified user need not have met the
extra conditions, and the reverse). So a goal of FINISHED is reached by 2, 3 or 4; a goal of
STARTED by 1 to 4; a goal of CERTIFIED only by 3 and a goal of CONDITIONS_MET only by 4. The
numeric order of 3 and 4 carries no meaning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_smartarena.enums import ActivityStatus
from airflow_provider_smartarena.resources import to_server_datetime

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

#: Rank of each status in the progress order; statuses of equal rank are alternatives.
PROGRESS_RANK: dict[ActivityStatus, int] = {
    ActivityStatus.NOT_STARTED: 0,
    ActivityStatus.STARTED: 1,
    ActivityStatus.FINISHED: 2,
    ActivityStatus.CERTIFIED: 3,
    ActivityStatus.CONDITIONS_MET: 3,
}


def status_reached(status: Any, goal: Any) -> bool:
    """Whether an activity in ``status`` has reached ``goal`` in the progress order (module doc)."""
    try:
        current = ActivityStatus.coerce(status)
    except ValueError:
        return False
    wanted = ActivityStatus.coerce(goal)
    if PROGRESS_RANK[wanted] == PROGRESS_RANK[ActivityStatus.CERTIFIED]:
        return current == wanted
    return PROGRESS_RANK[current] >= PROGRESS_RANK[wanted]


def _rank(record: Mapping[str, Any]) -> tuple[int, str]:
    try:
        rank = PROGRESS_RANK[ActivityStatus.coerce(record.get("status"))]
    except ValueError:
        rank = -1
    return rank, str(record.get("updated_at") or "")


def find_course_activity(
    hook: SmartArenaHook, user_mapping_code: str, course_mapping_code: str
) -> dict[str, Any] | None:
    """The user's activity on the course, or None; the most advanced one if the API lists several.

    The API filters activities by user only, so the course is matched here.
    """
    found: dict[str, Any] | None = None
    for record in hook.iter_user_courses(user_mapping_code=user_mapping_code, modules_data=False):
        if str(record.get("course_mapping_code")) != course_mapping_code:
            continue
        if found is None or _rank(record) > _rank(found):
            found = record
    return found


def check_course_completion(
    hook: SmartArenaHook, user_mapping_code: str, course_mapping_code: str, min_status: int
) -> dict[str, Any] | None:
    """The activity record once it has reached ``min_status``, else None."""
    record = find_course_activity(hook, user_mapping_code, course_mapping_code)
    if record is not None and status_reached(record.get("status"), min_status):
        return record
    return None


def _newest(values: Iterable[str], tz: dt.tzinfo) -> str | None:
    def key(text: str) -> tuple[int, Any]:
        try:
            return 1, to_server_datetime(text, tz)
        except (TypeError, ValueError):
            return 0, text

    items = [v for v in values if v]
    if not items:
        return None
    rank, newest = key(max(items, key=key))
    # On the server's wall clock, as documented: Laravel 7+ sends UTC instants ("...Z"), and the
    # value is meant to go back as an updated_at filter, which the server reads in its own zone.
    return newest.strftime("%Y-%m-%d %H:%M:%S") if rank else str(newest)


def check_activity(
    hook: SmartArenaHook,
    updated_after: Any,
    user_mapping_code: str | None = None,
    type: Any = None,
) -> dict[str, Any] | None:
    """``{"count", "newest_updated_at"}`` of activities changed strictly after ``updated_after``, or None."""
    count = 0
    stamps: list[str] = []
    records = hook.iter_user_courses(
        updated_after=updated_after, user_mapping_code=user_mapping_code, type=type, modules_data=False
    )
    for record in records:
        count += 1
        if record.get("updated_at"):
            stamps.append(str(record["updated_at"]))
    if not count:
        return None
    return {"count": count, "newest_updated_at": _newest(stamps, hook.timezone)}


__all__ = [
    "PROGRESS_RANK",
    "check_activity",
    "check_course_completion",
    "find_course_activity",
    "status_reached",
]
