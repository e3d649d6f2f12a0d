"""The shared record vocabulary, the sync package and the old public import paths that must keep working.

The private ``operators._sync_*`` modules moved to ``airflow_provider_smartarena.sync`` without shims."""

from __future__ import annotations

import importlib
import json

import pytest

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.enums import DeleteMode
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.records import Outcome, code_key, parse_records


@pytest.mark.parametrize(
    ("old", "names"),
    [
        ("airflow_provider_smartarena.operators.base", ["DEFAULT_CONN_ID", "FAILED", "normalise", "result"]),
        ("airflow_provider_smartarena.operators.base", ["changed_fields", "_parse_records", "_soft_deleted"]),
        ("airflow_provider_smartarena.operators.sync", ["SmartArenaUserSyncOperator", "MODES", "plan_table"]),
        (
            "airflow_provider_smartarena.triggers.activity",
            ["DEFAULT_CONN_ID", "check_activity", "status_reached"],
        ),
        (
            "airflow_provider_smartarena.triggers.activity",
            ["check_course_completion", "find_course_activity"],
        ),
    ],
)
def test_old_import_paths_still_work(old: str, names: list[str]) -> None:
    module = importlib.import_module(old)
    for name in names:
        assert hasattr(module, name), f"{old}.{name}"


def test_one_default_connection_id() -> None:
    from airflow_provider_smartarena.operators import base
    from airflow_provider_smartarena.triggers import activity

    assert base.DEFAULT_CONN_ID is activity.DEFAULT_CONN_ID is DEFAULT_CONN_ID


def test_outcomes_are_plain_text_where_they_leave_the_process() -> None:
    from airflow_provider_smartarena.operators.base import FAILED, result

    assert Outcome.FAILED == "failed"
    assert FAILED is Outcome.FAILED
    assert json.dumps(result("e-1", Outcome.CREATED)) == json.dumps(result("e-1", "created"))
    assert type(result("e-1", Outcome.CREATED)["action"]) is str


@pytest.mark.parametrize(
    ("record", "soft"),
    [
        ({"active": 1}, False),
        ({"active": 0}, True),
        ({"active": "0"}, True),
        ({"active": False}, True),
        ({"deleted_at": "2026-01-01 00:00:00"}, True),
        ({"archived": 1}, True),
        ({"archived": "true"}, True),
        ({}, False),
    ],
)
def test_one_soft_delete_rule(record: dict[str, object], soft: bool) -> None:
    assert DeleteMode.soft_deleted(record) is soft
    assert DeleteMode.nothing_to_do("partial", record) is soft
    assert DeleteMode.nothing_to_do(DeleteMode.FULL, record) is False
    assert DeleteMode.nothing_to_do(None, record) is False


def test_parse_records_names_the_argument() -> None:
    with pytest.raises(SmartArenaInputError, match=r"users\[1\]: is a int"):
        parse_records([{"a": 1}, 2], "users")
    assert parse_records("[{'a': 1}]") == [{"a": 1}]
    assert parse_records('{"a": 1}') == {"a": 1}


def test_codes_compare_trimmed_and_case_sensitive() -> None:
    assert code_key(" hr-7 ") == "hr-7"
    assert code_key("HR-7") != code_key("hr-7")
    assert code_key(7) == "7"
    assert code_key(None) is None
    assert code_key(True) is None
    assert code_key("  ") is None


def test_secret_records_keep_passwords_out_of_the_attribute() -> None:
    from airflow_provider_smartarena.operators.users import SmartArenaCreateUserOperator

    text = "[{'mapping_code': 'e-1', 'password': 'pw'}, {'mapping_code': 'e-2'}]"
    op = SmartArenaCreateUserOperator(task_id="t", records=text)

    assert op.records == [{"mapping_code": "e-1", "password": "***"}, {"mapping_code": "e-2"}]
    op.records = op.records  # set again with the masked value, as a second rendering would
    assert "pw" not in json.dumps(op.records)
    revealed = type(op).records.revealed(op)
    assert revealed == [{"mapping_code": "e-1", "password": "pw"}, {"mapping_code": "e-2"}]
    op.records = "{{ dag_run.conf['users'] }}"  # not records yet: left as it is
    assert op.records == "{{ dag_run.conf['users'] }}"


def test_sync_users_hide_passwords_also_under_a_mapped_column() -> None:
    from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator

    users = [{"emp": "hr-1", "pwd": "Secret-1"}, {"emp": "hr-2", "password": "Secret-2"}]
    op = SmartArenaUserSyncOperator(
        task_id="s", users=users, field_map={"emp": "mapping_code", "pwd": "password"}
    )

    assert "Secret" not in json.dumps(op.users)
    assert type(op).users.revealed(op) == users
