"""Triggers that poll Smart ARENA learning activity for the deferrable sensors.

A trigger runs on the triggerer's event loop: the connection is fetched with the common-compat
async helper, and every blocking hook call runs in a worker thread, so that polling never holds a
worker slot nor blocks the loop. The checks themselves live in
:mod:`airflow_provider_smartarena.activity`, shared with the sensors' ``poke`` (and re-exported
here, where they used to be defined).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.activity import (  # re-exported: they were defined here
    PROGRESS_RANK,
    check_activity,
    check_course_completion,
    find_course_activity,
    status_reached,
)
from airflow_provider_smartarena.enums import ActivityStatus, CourseFilterType

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook


async def connected_hook(
    smartarena_conn_id: str, hook_params: dict[str, Any] | None = None
) -> SmartArenaHook:
    """A hook whose connection was fetched without blocking the event loop.

    :param smartarena_conn_id: the Airflow connection id.
    :param hook_params: arguments of the hook (the deferring task's ``hook_params``).
    """
    from airflow.providers.common.compat.connection import get_async_connection

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

    conn = await get_async_connection(smartarena_conn_id, hook=SmartArenaHook)
    hook = SmartArenaHook.for_task(smartarena_conn_id, hook_params)
    # The hook reads its connection lazily with the blocking get_connection(); hand it the one
    # fetched above instead (an instance attribute takes precedence over the classmethod).
    hook.get_connection = lambda conn_id: conn  # type: ignore[method-assign]
    return hook


def classpath(trigger: BaseTrigger) -> str:
    """The import path Airflow re-creates ``trigger`` from (the first half of ``serialize()``)."""
    return f"{type(trigger).__module__}.{type(trigger).__qualname__}"


def trigger_arguments(trigger: BaseTrigger, names: Iterable[str]) -> dict[str, Any]:
    """The arguments ``names`` of ``trigger``, which the Smart ARENA triggers keep as attributes of
    the same names, in that order (``serialize()`` must give them back the same every time)."""
    return {name: getattr(trigger, name) for name in names}


#: The arguments of every polling trigger, serialised after the trigger's own.
_POLLING_ARGUMENTS = ("smartarena_conn_id", "poke_interval", "end_at")


class SmartArenaPollingTrigger(BaseTrigger):
    """
    Base of the Smart ARENA triggers: call :meth:`check` every ``poke_interval`` seconds until it
    returns a result, fails, or ``end_at`` passes.

    Events: ``{"status": "success", "result": ...}``, ``{"status": "error", "message": ...}`` or
    ``{"status": "timeout", "message": ...}``.

    :param smartarena_conn_id: the Smart ARENA connection.
    :param poke_interval: seconds between checks.
    :param end_at: when to give up (an aware datetime), or None to wait for ever.
    :param hook_params: arguments of the hook, as the deferring sensor's ``hook_params``.
    """

    #: The subclass's own arguments, each kept as the attribute of the same name.
    check_arguments: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        poke_interval: float = 60.0,
        end_at: dt.datetime | None = None,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.smartarena_conn_id = smartarena_conn_id
        self.hook_params = dict(hook_params or {})
        self.poke_interval = float(poke_interval)
        self.end_at = end_at

    def check(self, hook: SmartArenaHook) -> Any:
        """One blocking check (run in a worker thread); a result ends the wait, None goes on."""
        raise NotImplementedError

    def check_kwargs(self) -> dict[str, Any]:
        """The trigger's own arguments, besides those of this base."""
        return trigger_arguments(self, self.check_arguments)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # hook_params is left out when empty, so triggers serialised before it existed still match.
        names = (*_POLLING_ARGUMENTS, *(("hook_params",) if self.hook_params else ()))
        return classpath(self), {**self.check_kwargs(), **trigger_arguments(self, names)}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook = await connected_hook(self.smartarena_conn_id, self.hook_params)
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

    check_arguments = ("user_mapping_code", "course_mapping_code", "min_status")

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

    check_arguments = ("updated_after", "user_mapping_code", "type")

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
