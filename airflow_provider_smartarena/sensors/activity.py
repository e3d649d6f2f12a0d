"""Sensors that wait on Smart ARENA learning activity (``/api/usercourses``).

Both work in ``poke`` and ``reschedule`` mode, and with ``deferrable=True`` hand the waiting to a
trigger (:mod:`airflow_provider_smartarena.triggers.activity`) that polls without holding a worker
slot. They check once before deferring, so a condition that already holds costs no deferral.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.activity import check_activity, check_course_completion
from airflow_provider_smartarena.enums import ActivityStatus, CourseFilterType
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.hook_params import checked_hook_params
from airflow_provider_smartarena.triggers.activity import (
    SmartArenaActivityTrigger,
    SmartArenaCourseCompletionTrigger,
    SmartArenaPollingTrigger,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

#: Extra time the framework gives a deferred sensor beyond its own deadline, so that the trigger's
#: timeout event (which honours soft_fail) arrives before Airflow's deferral timeout.
_DEFERRAL_GRACE = dt.timedelta(minutes=1)


class _SmartArenaActivitySensorBase(BaseSensorOperator):
    """What the activity sensors share: the hook, the deferrable flow and the trigger's events."""

    ui_color = "#f4ecd8"
    #: The trigger that waits in the triggerer when the sensor is deferrable.
    trigger_class: ClassVar[type[SmartArenaPollingTrigger]]

    def __init__(
        self,
        *,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.smartarena_conn_id = smartarena_conn_id
        self.hook_params = checked_hook_params(hook_params)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> SmartArenaHook:
        from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

        return SmartArenaHook.for_task(self.smartarena_conn_id, self.hook_params)

    def check(self) -> Any:
        """One check: the XCom value once the condition holds, else None."""
        raise NotImplementedError

    def trigger_kwargs(self) -> dict[str, Any]:
        """The trigger's own arguments: checked, plain values (it is serialised)."""
        raise NotImplementedError

    def make_trigger(self, end_at: dt.datetime) -> SmartArenaPollingTrigger:
        return self.trigger_class(
            **self.trigger_kwargs(),
            smartarena_conn_id=self.smartarena_conn_id,
            poke_interval=float(self.poke_interval),
            end_at=end_at,
            hook_params=self.hook_params,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        found = self.check()
        return PokeReturnValue(is_done=found is not None, xcom_value=found)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        found = self.check()
        if found is not None:
            return found
        timeout = dt.timedelta(seconds=float(self.timeout))
        self.defer(
            trigger=self.make_trigger(end_at=dt.datetime.now(dt.UTC) + timeout),
            method_name="execute_complete",
            timeout=timeout + _DEFERRAL_GRACE,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired: return its result, or raise its error or timeout."""
        status = event.get("status")
        if status == "success":
            self.log.info("%s: condition met", self.task_id)
            return event["result"]
        message = event.get("message", "no message")
        if status == "timeout":
            text = f"{self.task_id}: timed out after {self.timeout} s ({message})"
            if self.soft_fail:
                raise AirflowSkipException(text)
            raise AirflowSensorTimeout(text)
        raise AirflowException(f"{self.task_id}: the trigger failed: {message}")


class SmartArenaCourseCompletionSensor(_SmartArenaActivitySensorBase):
    """
    Wait until a user's activity on a course reaches a status.

    "Reaches" follows the progress order ``NOT_STARTED < STARTED < FINISHED < CERTIFIED |
    CONDITIONS_MET``: the default ``min_status=FINISHED`` is met by a finished, certified or
    conditions-met activity; ``CERTIFIED`` and ``CONDITIONS_MET`` are alternative end states, each
    met only by itself (see :mod:`airflow_provider_smartarena.triggers.activity`). Until the user is
    enrolled there is no activity, and the sensor keeps waiting.

    The user's activities are read with ``GET /api/usercourses?user_mapping_code=...`` (without
    module data) and the course is matched here, as the API has no course filter.
    XCom: the activity record.

    :param user_mapping_code: the user. (templated)
    :param course_mapping_code: the course. (templated)
    :param min_status: the :class:`~airflow_provider_smartarena.enums.ActivityStatus` to wait for
        (member, number or name). (templated)
    :param smartarena_conn_id: the Smart ARENA connection.
    :param deferrable: wait in the triggerer instead of a worker; default from the
        ``[operators] default_deferrable`` option.
    :param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}`` (the
        keys of ``SmartArenaHook.hook_param_names()``); checked when the task is declared; the
        trigger gets them too.
    """

    template_fields: Sequence[str] = ("user_mapping_code", "course_mapping_code", "min_status")
    trigger_class = SmartArenaCourseCompletionTrigger

    def __init__(
        self,
        *,
        user_mapping_code: str,
        course_mapping_code: str,
        min_status: ActivityStatus | int | str = ActivityStatus.FINISHED,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.user_mapping_code = user_mapping_code
        self.course_mapping_code = course_mapping_code
        self.min_status = min_status

    def _goal(self) -> ActivityStatus:
        try:
            return ActivityStatus.coerce(self.min_status)
        except ValueError as err:
            raise SmartArenaInputError("min_status", str(err), ActivityStatus.allowed()) from None

    def _codes(self) -> tuple[str, str]:
        codes = []
        for name in ("user_mapping_code", "course_mapping_code"):
            value = getattr(self, name)
            if not isinstance(value, str | int) or not str(value).strip():
                raise SmartArenaInputError(name, f"must be a non-empty mapping code, got {value!r}")
            codes.append(str(value).strip())
        return codes[0], codes[1]

    def check(self) -> dict[str, Any] | None:
        goal = self._goal()
        user, course = self._codes()
        self.log.info("Is user %r at %s on course %r?", user, goal.name, course)
        return check_course_completion(self.hook, user, course, goal)

    def trigger_kwargs(self) -> dict[str, Any]:
        user, course = self._codes()
        return {"user_mapping_code": user, "course_mapping_code": course, "min_status": int(self._goal())}


class SmartArenaActivitySensor(_SmartArenaActivitySensorBase):
    """
    Wait until any learning activity changed strictly after ``updated_after``.

    XCom: ``{"count": <activities changed>, "newest_updated_at": "<YYYY-MM-DD HH:MM:SS>"}``
    (server time zone, as the API returns it).

    :param updated_after: a datetime, e.g. ``"{{ data_interval_start }}"``; naive values are in the
        server's time zone (connection extra ``timezone``). (templated)
    :param user_mapping_code: only this user's activities. (templated)
    :param type: only courses of this :class:`~airflow_provider_smartarena.enums.CourseFilterType`.
        (templated)
    :param smartarena_conn_id: the Smart ARENA connection.
    :param deferrable: wait in the triggerer instead of a worker; default from the
        ``[operators] default_deferrable`` option.
    :param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}`` (the
        keys of ``SmartArenaHook.hook_param_names()``); checked when the task is declared; the
        trigger gets them too.
    """

    template_fields: Sequence[str] = ("updated_after", "user_mapping_code", "type")
    trigger_class = SmartArenaActivityTrigger

    def __init__(
        self,
        *,
        updated_after: Any,
        user_mapping_code: str | None = None,
        type: CourseFilterType | int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.updated_after = updated_after
        self.user_mapping_code = user_mapping_code
        self.type = type

    def _updated_after(self) -> str:
        # Checked by the hook too; done here so that the trigger gets a plain, valid value.
        from airflow_provider_smartarena.resources import USER_COURSES

        if self.updated_after is None or self.updated_after == "":
            raise SmartArenaInputError(
                "updated_after", "is required", USER_COURSES.field("updated_at").allowed()
            )
        prepared = USER_COURSES.prepare({"updated_at": self.updated_after}, self.hook.timezone)
        return str(prepared["updated_at"])

    def _type(self) -> int | None:
        if self.type is None or self.type == "":
            return None
        try:
            return int(CourseFilterType.coerce(self.type))
        except ValueError as err:
            raise SmartArenaInputError("type", str(err), CourseFilterType.allowed()) from None

    def check(self) -> dict[str, Any] | None:
        after = self._updated_after()
        self.log.info("Any activity changed after %s (server time)?", after)
        return check_activity(self.hook, after, self.user_mapping_code or None, self._type())

    def trigger_kwargs(self) -> dict[str, Any]:
        return {
            "updated_after": self._updated_after(),
            "user_mapping_code": self.user_mapping_code or None,
            "type": self._type(),
        }


__all__ = ["SmartArenaActivitySensor", "SmartArenaCourseCompletionSensor"]
