"""Triggers that poll Smart ARENA learning activity for the deferrable sensors, and the checks they share.

A trigger runs on the triggerer's event loop: the connection is fetched with the common-compat
async helper, and every blocking hook call runs in a worker thread, so that polling never holds a
worker slot nor blocks the loop. The checks are plain functions of a hook, used as they are by the
sensors' ``poke`` and, off the loop, by the triggers, so both modes decide the same way.

Progress order of an activity's ``status``: ``NOT_STARTED (0) < STARTED (1) < FINISHED (2)``, and
then two end states, ``CERTIFIED (3)`` and ``CONDITIONS_MET (4)``, each of which implies the course
was finished, but neither of which implies the other (a certified user need not have met the
extra conditions, and the reverse). So a goal of FINISHED is reached by 2, 3 or 4; a goal of
STARTED by 1 to 4; a goal of CERTIFIED only by 3 and a goal of CONDITIONS_MET only by 4. The
numeric order of 3 and 4 carries no meaning.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_smartarena.enums import ActivityStatus, CourseFilterType
from airflow_provider_smartarena.resources import to_server_datetime

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

DEFAULT_CONN_ID = "smartarena_default"

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
    return max(items, key=key) if items else None


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


async def _connected_hook(smartarena_conn_id: str) -> SmartArenaHook:
    """A hook whose connection was fetched without blocking the event loop."""
    from airflow.providers.common.compat.connection import get_async_connection

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

    conn = await get_async_connection(smartarena_conn_id, hook=SmartArenaHook)
    hook = SmartArenaHook(smartarena_conn_id=smartarena_conn_id)
    # The hook reads its connection lazily with the blocking get_connection(); hand it the one
    # fetched above instead (an instance attribute takes precedence over the classmethod).
    hook.get_connection = lambda conn_id: conn  # type: ignore[method-assign]
    return hook


class SmartArenaPollingTrigger(BaseTrigger):
    """
    Base of the Smart ARENA triggers: call :meth:`check` every ``poke_interval`` seconds until it
    returns a result, fails, or ``end_at`` passes.

    Events: ``{"status": "success", "result": ...}``, ``{"status": "error", "message": ...}`` or
    ``{"status": "timeout", "message": ...}``.

    :param smartarena_conn_id: the Smart ARENA connection.
    :param poke_interval: seconds between checks.
    :param end_at: when to give up (an aware datetime), or None to wait for ever.
    """

    def __init__(
        self,
        *,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        poke_interval: float = 60.0,
        end_at: dt.datetime | None = None,
    ) -> None:
        super().__init__()
        self.smartarena_conn_id = smartarena_conn_id
        self.poke_interval = float(poke_interval)
        self.end_at = end_at

    def check(self, hook: SmartArenaHook) -> Any:
        """One blocking check (run in a worker thread); a result ends the wait, None goes on."""
        raise NotImplementedError

    def check_kwargs(self) -> dict[str, Any]:
        """The trigger's own arguments, besides those of this base."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **self.check_kwargs(),
                "smartarena_conn_id": self.smartarena_conn_id,
                "poke_interval": self.poke_interval,
                "end_at": self.end_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook = await _connected_hook(self.smartarena_conn_id)
        except Exception as err:
            yield TriggerEvent({"status": "error", "message": f"{type(err).__name__}: {err}"})
            return
        try:
            while True:
                try:
                    found = await asyncio.to_thread(self.check, hook)
                except Exception as err:
                    yield TriggerEvent({"status": "error", "message": f"{type(err).__name__}: {err}"})
                    return
                if found is not None:
                    yield TriggerEvent({"status": "success", "result": found})
                    return
                wait = self.poke_interval
                if self.end_at is not None:
                    remaining = (self.end_at - dt.datetime.now(dt.UTC)).total_seconds()
                    if remaining <= 0:
                        yield TriggerEvent(
                            {"status": "timeout", "message": f"still waiting at {self.end_at}"}
                        )
                        return
                    wait = min(wait, remaining)
                self.log.info("Not yet; checking again in %.0f s", wait)
                await asyncio.sleep(wait)
        finally:
            await asyncio.to_thread(hook.close)


class SmartArenaCourseCompletionTrigger(SmartArenaPollingTrigger):
    """
    Fire when a user's activity on a course reaches ``min_status`` (progress order: module doc).

    :param user_mapping_code: the user.
    :param course_mapping_code: the course.
    :param min_status: the :class:`~airflow_provider_smartarena.enums.ActivityStatus` to reach.
    """

    def __init__(
        self,
        *,
        user_mapping_code: str,
        course_mapping_code: str,
        min_status: int = ActivityStatus.FINISHED,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.user_mapping_code = user_mapping_code
        self.course_mapping_code = course_mapping_code
        self.min_status = int(ActivityStatus.coerce(min_status))

    def check_kwargs(self) -> dict[str, Any]:
        return {
            "user_mapping_code": self.user_mapping_code,
            "course_mapping_code": self.course_mapping_code,
            "min_status": self.min_status,
        }

    def check(self, hook: SmartArenaHook) -> dict[str, Any] | None:
        return check_course_completion(
            hook, self.user_mapping_code, self.course_mapping_code, self.min_status
        )


class SmartArenaActivityTrigger(SmartArenaPollingTrigger):
    """
    Fire when any activity changed strictly after ``updated_after``.

    :param updated_after: a datetime (ISO 8601 text is fine; naive = server time zone).
    :param user_mapping_code: only this user's activities.
    :param type: only courses of this :class:`~airflow_provider_smartarena.enums.CourseFilterType`.
    """

    def __init__(
        self,
        *,
        updated_after: str,
        user_mapping_code: str | None = None,
        type: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.updated_after = updated_after
        self.user_mapping_code = user_mapping_code
        self.type = None if type is None else int(CourseFilterType.coerce(type))

    def check_kwargs(self) -> dict[str, Any]:
        return {
            "updated_after": self.updated_after,
            "user_mapping_code": self.user_mapping_code,
            "type": self.type,
        }

    def check(self, hook: SmartArenaHook) -> dict[str, Any] | None:
        return check_activity(hook, self.updated_after, self.user_mapping_code, self.type)


__all__ = [
    "PROGRESS_RANK",
    "SmartArenaActivityTrigger",
    "SmartArenaCourseCompletionTrigger",
    "SmartArenaPollingTrigger",
    "check_activity",
    "check_course_completion",
    "find_course_activity",
    "status_reached",
]
