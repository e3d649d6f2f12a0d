"""``hook_params``: tasks pass arguments to their SmartArenaHook, checked when declared."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.operators.users import SmartArenaUpdateUserOperator
from airflow_provider_smartarena.sensors.activity import SmartArenaCourseCompletionSensor
from airflow_provider_smartarena.transfers.usercourses_to_sql import SmartArenaUserCoursesToSqlOperator
from tests.hook.scripted import Reply, ScriptedServer, connection_json


def test_max_retry_wait_from_hook_params_fails_at_once_on_a_longer_retry_after(
    scripted: Callable[..., ScriptedServer], monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    server = scripted(lambda r: Reply(429, {"message": "Too Many Attempts."}, headers={"Retry-After": "5"}))
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", connection_json(server.url))
    op = SmartArenaUpdateUserOperator(
        task_id="u", mapping_code="e-1", firstname="Ana", hook_params={"max_retry_wait": 1}
    )
    assert op.hook.settings.max_retry_wait == 1
    started = time.monotonic()
    with pytest.raises(AirflowException) as info:
        op.execute(context)
    assert time.monotonic() - started < 3  # not the 5 s asked, nor a retry after it
    assert len(server.api_requests()) == 1
    text = f"{info.value} {context['ti'].pushed.get('results')}"
    assert "asked to wait 5 s (Retry-After), more than max_retry_wait=1 s" in text, text


@pytest.mark.parametrize(
    "declare",
    [
        lambda hp: SmartArenaUpdateUserOperator(task_id="u", mapping_code="e-1", hook_params=hp),
        lambda hp: SmartArenaUserSyncOperator(task_id="s", users=[], hook_params=hp),
        lambda hp: SmartArenaCourseCompletionSensor(
            task_id="c", user_mapping_code="u", course_mapping_code="c", hook_params=hp
        ),
        lambda hp: SmartArenaUserCoursesToSqlOperator(task_id="t", table="activities", hook_params=hp),
    ],
    ids=["record operator", "sync", "sensor", "transfer"],
)
def test_an_unknown_hook_param_fails_the_declaration(declare: Callable[[Any], Any]) -> None:
    with pytest.raises(SmartArenaInputError) as info:
        declare({"max_retry_wiat": 1})
    assert info.value.field == "hook_params"
    assert "max_retry_wiat" in str(info.value)
    assert "max_retry_wait" in (info.value.allowed or "")
    assert declare({"max_retry_wait": 300}).hook_params == {"max_retry_wait": 300}
    assert declare(None).hook_params == {}


def test_a_deferring_sensor_hands_its_hook_params_to_the_trigger() -> None:
    sensor = SmartArenaCourseCompletionSensor(
        task_id="c", user_mapping_code="u", course_mapping_code="c", hook_params={"max_retry_wait": 1}
    )
    trigger = sensor.make_trigger(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    _classpath, kwargs = trigger.serialize()
    assert kwargs["hook_params"] == {"max_retry_wait": 1}
    again = type(trigger)(**kwargs)
    assert again.hook_params == {"max_retry_wait": 1}
    # Without hook_params the serialised form is as before they existed.
    plain = SmartArenaCourseCompletionSensor(task_id="p", user_mapping_code="u", course_mapping_code="c")
    assert "hook_params" not in plain.make_trigger(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)).serialize()[1]
