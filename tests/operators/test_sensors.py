"""The activity sensors and their triggers against the sandbox: poke, reschedule, defer, trigger runs."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airflow.triggers.base import TriggerEvent

from airflow_provider_smartarena.activity import status_reached
from airflow_provider_smartarena.enums import ActivityStatus
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from airflow_provider_smartarena.sensors.activity import (
    SmartArenaActivitySensor,
    SmartArenaCourseCompletionSensor,
)
from airflow_provider_smartarena.triggers.activity import (
    SmartArenaActivityTrigger,
    SmartArenaCourseCompletionTrigger,
    SmartArenaPollingTrigger,
)

S = ActivityStatus


@pytest.mark.parametrize(
    ("status", "goal", "reached"),
    [
        (S.NOT_STARTED, S.NOT_STARTED, True),
        (S.NOT_STARTED, S.STARTED, False),
        (S.STARTED, S.FINISHED, False),
        (S.FINISHED, S.FINISHED, True),
        (S.CERTIFIED, S.FINISHED, True),
        (S.CONDITIONS_MET, S.FINISHED, True),
        (S.CONDITIONS_MET, S.STARTED, True),
        (S.CERTIFIED, S.CERTIFIED, True),
        (S.CONDITIONS_MET, S.CERTIFIED, False),  # numerically higher, but another end state
        (S.CERTIFIED, S.CONDITIONS_MET, False),
        (S.FINISHED, S.CERTIFIED, False),
        ("2", "finished", True),
        (None, S.NOT_STARTED, False),
    ],
)
def test_progress_order(status: Any, goal: Any, reached: bool) -> None:
    assert status_reached(status, goal) is reached


def _activity(sandbox: SandboxServer, status: int) -> dict[str, Any]:
    return next(a for a in sandbox.state("usercourses", modules_data=False) if a["status"] == status)


def test_completion_sensor_pokes(sandbox_conn: SandboxServer, context: Any) -> None:
    finished, started = _activity(sandbox_conn, S.FINISHED), _activity(sandbox_conn, S.STARTED)

    def sensor(activity: dict[str, Any], **kwargs: Any) -> SmartArenaCourseCompletionSensor:
        return SmartArenaCourseCompletionSensor(
            task_id="s",
            user_mapping_code=activity["user_mapping_code"],
            course_mapping_code=activity["course_mapping_code"],
            **kwargs,
        )

    done = sensor(finished).poke(context)
    assert done.is_done
    assert done.xcom_value is not None
    assert done.xcom_value["course_mapping_code"] == finished["course_mapping_code"]
    assert done.xcom_value["status"] == S.FINISHED
    assert not sensor(started).poke(context).is_done
    assert sensor(started, min_status="started").poke(context).is_done
    assert not sensor(finished, min_status=S.CERTIFIED).poke(context).is_done
    not_enrolled = SmartArenaCourseCompletionSensor(
        task_id="s", user_mapping_code=finished["user_mapping_code"], course_mapping_code="no-such-course"
    )
    assert not not_enrolled.poke(context).is_done
    sandbox_conn.reset_stats()
    with pytest.raises(SmartArenaInputError, match="min_status"):
        sensor(finished, min_status=9).poke(context)
    assert sandbox_conn.stats()["total"] == 0


def test_activity_sensor_pokes_and_reschedules(sandbox_conn: SandboxServer, context: Any) -> None:
    now = sandbox_conn.clock()["now"]
    sensor = SmartArenaActivitySensor(
        task_id="a", updated_after="{{ params.after }}", mode="reschedule", poke_interval=5, timeout=60
    )
    sensor.render_template_fields({"params": {"after": now}})
    assert not sensor.poke(context).is_done
    from airflow.exceptions import AirflowRescheduleException

    with pytest.raises(AirflowRescheduleException):
        sensor.execute(context)
    tick = sandbox_conn.tick(changes=3, advance_seconds=5)
    result = sensor.execute(context)
    assert result["count"] >= 1
    assert result["newest_updated_at"] == max(c["updated_at"] for c in tick["changes"])
    with pytest.raises(SmartArenaInputError, match="type"):
        SmartArenaActivitySensor(task_id="a", updated_after=now, type=7).poke(context)


def test_poke_mode_times_out(sandbox_conn: SandboxServer, context: Any) -> None:
    after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    sensor = SmartArenaActivitySensor(task_id="a", updated_after=after, poke_interval=0.1, timeout=0.3)
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute(context)


def test_deferrable_sensors_defer_with_a_serialisable_trigger(
    sandbox_conn: SandboxServer, context: Any
) -> None:
    started, finished = _activity(sandbox_conn, S.STARTED), _activity(sandbox_conn, S.FINISHED)
    waiting = SmartArenaCourseCompletionSensor(
        task_id="s",
        user_mapping_code=started["user_mapping_code"],
        course_mapping_code=started["course_mapping_code"],
        deferrable=True,
        poke_interval=7,
        timeout=600,
    )
    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, SmartArenaCourseCompletionTrigger)
    assert (trigger.user_mapping_code, trigger.min_status, trigger.poke_interval) == (
        started["user_mapping_code"],
        2,
        7.0,
    )
    assert trigger.end_at is not None
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None
    assert deferred.value.timeout > dt.timedelta(seconds=600)  # the trigger's own deadline comes first

    # Already there: no deferral at all.
    met = SmartArenaCourseCompletionSensor(
        task_id="s",
        user_mapping_code=finished["user_mapping_code"],
        course_mapping_code=finished["course_mapping_code"],
        deferrable=True,
    )
    assert met.execute(context)["status"] == S.FINISHED

    activity = SmartArenaActivitySensor(
        task_id="a", updated_after="2999-01-01T00:00:00+00:00", deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        activity.execute(context)
    assert isinstance(deferred.value.trigger, SmartArenaActivityTrigger)
    assert deferred.value.trigger.updated_after == "2999-01-01 00:00:00"


def test_execute_complete() -> None:
    sensor = SmartArenaActivitySensor(task_id="a", updated_after="2025-01-01", timeout=5)
    assert sensor.execute_complete({}, {"status": "success", "result": {"count": 1}}) == {"count": 1}
    with pytest.raises(AirflowException, match="boom"):
        sensor.execute_complete({}, {"status": "error", "message": "boom"})
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute_complete({}, {"status": "timeout", "message": "late"})
    soft = SmartArenaActivitySensor(task_id="a", updated_after="2025-01-01", soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.execute_complete({}, {"status": "timeout", "message": "late"})


@pytest.mark.parametrize(
    "trigger",
    [
        SmartArenaCourseCompletionTrigger(
            user_mapping_code="u",
            course_mapping_code="c",
            # The trigger takes a status name too (ActivityStatus.coerce); its annotation says int.
            min_status="certified",  # type: ignore[arg-type]
            smartarena_conn_id="x",
            poke_interval=3,
            end_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        ),
        SmartArenaActivityTrigger(updated_after="2025-01-01 00:00:00", user_mapping_code="u", type=1),
        SmartArenaActivityTrigger(updated_after="2025-01-01 00:00:00"),
    ],
)
def test_trigger_serialize_round_trips(trigger: SmartArenaPollingTrigger) -> None:
    classpath, kwargs = trigger.serialize()
    assert classpath == f"airflow_provider_smartarena.triggers.activity.{type(trigger).__name__}"
    assert type(trigger)(**kwargs).serialize() == (classpath, kwargs)
    # And through Airflow's own encoding of trigger kwargs.
    try:
        from airflow.sdk.serde import deserialize, serialize
    except ImportError:  # Airflow 2: the Trigger model stores its kwargs with BaseSerialization
        from airflow.models.trigger import Trigger

        def round_trip(kwargs: dict[str, Any]) -> Any:
            return Trigger._decrypt_kwargs(Trigger._encrypt_kwargs(kwargs))
    else:

        def round_trip(kwargs: dict[str, Any]) -> Any:
            return deserialize(serialize(kwargs))

    assert type(trigger)(**round_trip(kwargs)).serialize() == (classpath, kwargs)


def _run_until_event(trigger: SmartArenaPollingTrigger, act: Any = None, timeout: float = 30) -> TriggerEvent:
    """Run the trigger on an event loop; ``act()`` runs in a thread meanwhile (the world changing)."""

    async def main() -> TriggerEvent:
        waiting = asyncio.ensure_future(anext(trigger.run()))
        if act is not None:
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the trigger fired before anything changed"
            await asyncio.to_thread(act)
        return await asyncio.wait_for(waiting, timeout)

    return asyncio.run(main())


def test_activity_trigger_fires_after_a_tick(sandbox_conn: SandboxServer) -> None:
    now = sandbox_conn.clock()["now"]
    trigger = SmartArenaActivityTrigger(updated_after=now, poke_interval=0.2)
    event = _run_until_event(trigger, lambda: sandbox_conn.tick(changes=2, advance_seconds=2))
    assert event.payload["status"] == "success"
    assert event.payload["result"]["count"] >= 1
    assert event.payload["result"]["newest_updated_at"] > now


def test_completion_trigger_fires_when_the_learner_finishes(empty_conn: SandboxServer) -> None:
    with SmartArenaHook() as hook:
        hook.create_user("t-learner", "learner@example.com", "Lea", "Rner")
        hook.create_course("t-c", "Course", "2025-01-01", users_mapping_codes=["t-learner"])

    def learn() -> None:
        # Sandbox learning is random; with one activity every tick moves it along.
        for _ in range(300):
            status = empty_conn.state("usercourses", modules_data=False)[0]["status"]
            if status_reached(status, S.FINISHED):
                return
            empty_conn.tick(changes=1, advance_seconds=1)
        raise AssertionError("the learner never finished")

    trigger = SmartArenaCourseCompletionTrigger(
        user_mapping_code="t-learner", course_mapping_code="t-c", poke_interval=0.2
    )
    event = _run_until_event(trigger, learn)
    assert event.payload["status"] == "success"
    record = event.payload["result"]
    assert (record["user_mapping_code"], record["course_mapping_code"]) == ("t-learner", "t-c")
    assert status_reached(record["status"], S.FINISHED)


def test_trigger_times_out_and_reports_errors(
    sandbox_conn: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.5)
    trigger = SmartArenaActivityTrigger(updated_after="2999-01-01 00:00:00", poke_interval=0.2, end_at=soon)
    assert _run_until_event(trigger).payload["status"] == "timeout"

    missing = SmartArenaActivityTrigger(
        updated_after="2025-01-01 00:00:00", smartarena_conn_id="no_such_conn"
    )
    event = _run_until_event(missing)
    assert event.payload["status"] == "error"
    assert "no_such_conn" in event.payload["message"]

    monkeypatch.setenv("AIRFLOW_CONN_BAD_SECRET", sandbox_conn.connection_json().replace("secret", "wrong"))
    bad = SmartArenaActivityTrigger(updated_after="2025-01-01 00:00:00", smartarena_conn_id="bad_secret")
    event = _run_until_event(bad)
    assert event.payload["status"] == "error"
    assert "SmartArenaAuthError" in event.payload["message"]
