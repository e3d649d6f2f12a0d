"""Where the desired users come from: a list (also as text from conf), CSV, JSON lines, SQL; and results."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, redact

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.resources import USERS
from airflow_provider_smartarena.sync.source import clean_rows, read_path

from .conftest import person, users_by_code, writes

CSV_TEXT = (
    "\ufeffemployee_id,email,firstname,lastname,date_of_birth,branch_mapping_code,roles,language_code,"
    "department,cost_center\n"
    "hr-1,ana@hr.example.com,Ana,Novak,1990-01-02,br-001,4;6,3,Sales,C1\n"
    'hr-2,bor@hr.example.com,Bor,Kos,,br-002,"[4, 6]",,Sales,C2\n'
    "hr-3,cvet@hr.example.com,Cvet,Zupan,1985-12-31,,6,1,IT,\n"
)
CSV_MAP = {"employee_id": "mapping_code", "department": None}


def _sqlite_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, path: Path) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )


def test_csv_file(sync: Any, fresh_sandbox: Any, tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "hr.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")

    summary = sync(source_path=str(path), field_map=CSV_MAP)

    assert summary["counts"] == {"user": {"created": 3}}
    state = users_by_code(fresh_sandbox)
    assert sorted(state["hr-1"]["roles"]) == [4, 6]
    assert sorted(state["hr-2"]["roles"]) == [4, 6]
    assert state["hr-2"]["date_of_birth"] is None  # an empty cell is "not set"
    assert state["hr-3"]["branch_mapping_code"] is None
    assert state["hr-3"]["language_code"] == 1
    fresh_sandbox.reset_stats()
    assert sync(source_path=str(path), field_map=CSV_MAP)["counts"] == {"user": {"unchanged": 3}}
    assert writes(fresh_sandbox) == 0


def test_csv_ignored_columns_are_logged(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")

    source = clean_rows(read_path(str(path)), USERS.create.field_names, CSV_MAP)

    assert source.ignored_columns == {"cost_center"}  # department is mapped to None: dropped quietly
    assert [row.number for row in source.rows] == [2, 3, 4]  # the line in the file
    assert source.rows[0].values["mapping_code"] == "hr-1"
    assert source.rows[0].values["roles"] == "4,6"


def test_semicolon_csv_and_a_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text("mapping_code;email;roles\nhr-1;a@b.si;4,6\nhr-2;b@b.si;6;extra\n", encoding="utf-8")

    rows = clean_rows(read_path(str(path)), USERS.create.field_names).rows

    assert rows[0].values == {"mapping_code": "hr-1", "email": "a@b.si", "roles": "4,6"}
    assert rows[1].error == "the row has 1 more cell(s) than the header has columns"


def test_json_lines_with_a_broken_line(sync: Any, fresh_sandbox: Any, tmp_path: Path) -> None:
    path = tmp_path / "hr.jsonl"
    lines = [json.dumps(person(1)), "", '{"mapping_code": "hr-2", ', json.dumps(person(3))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    summary = sync(source_path=str(path), fail_on_error=False)

    assert summary["counts"] == {"user": {"created": 2, "invalid": 1}}
    bad = next(r for r in summary["records"] if r["status"] == "invalid")
    assert bad["row"] == 3
    assert bad["message"].startswith("not valid JSON")


def test_object_storage_url(sync: Any, fresh_sandbox: Any, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([person(1), person(2)]), encoding="utf-8")

    summary = sync(source_path=f"file://{path}")

    assert summary["counts"] == {"user": {"created": 2}}


def test_sql_source(sync: Any, fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "hr.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE staff (id TEXT, mail TEXT, first TEXT, last TEXT, unit TEXT, roles TEXT)")
        conn.executemany(
            "INSERT INTO staff VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("hr-1", "a@hr.example.com", "Ana", "Novak", "br-001", "6"),
                ("hr-2", "b@hr.example.com", "Bor", "Kos", None, "4;6"),
            ],
        )
    _sqlite_conn(monkeypatch, "hr_db", db)
    query = (
        "SELECT id AS mapping_code, mail AS email, first AS firstname, last, "
        "unit AS branch_mapping_code, roles FROM staff ORDER BY id"
    )

    summary = sync(source_sql=query, source_conn_id="hr_db", field_map={"last": "lastname"})

    assert summary["counts"] == {"user": {"created": 2}}
    state = users_by_code(fresh_sandbox)
    assert (state["hr-1"]["lastname"], state["hr-1"]["branch_mapping_code"]) == ("Novak", "br-001")
    assert sorted(state["hr-2"]["roles"]) == [4, 6]


def test_users_as_text_from_conf(sync: Any, fresh_sandbox: Any) -> None:
    # What "{{ dag_run.conf['users'] }}" renders to without render_template_as_native_obj.
    as_python_text = repr([person(1), person(2)])
    as_json_text = json.dumps([person(3)])

    assert sync(users=as_python_text)["counts"] == {"user": {"created": 2}}
    assert sync(users=as_json_text)["counts"] == {"user": {"created": 1}}
    with pytest.raises(Exception, match="users: is text that is neither JSON nor a Python literal"):
        sync(users="not a list")


def test_templates_render_from_conf_and_params_and_mask_passwords() -> None:
    op = SmartArenaUserSyncOperator(
        task_id="sync",
        users="{{ dag_run.conf['users'] }}",
        dry_run="{{ params.dry_run }}",
        managed_filter="{{ params.managed }}",
        mode="{{ params.mode }}",
    )
    conf = {"users": [{"mapping_code": "hr-1", "password": "pw-in-conf-123"}]}
    params = {"dry_run": True, "managed": {"regex": "hr-.*"}, "mode": "mirror"}

    op.render_template_fields({"dag_run": SimpleNamespace(conf=conf), "params": params})

    assert (op.sync_dry_run, op.mode) == ("True", "mirror")
    assert redact("the password is pw-in-conf-123") == "the password is ***"
    assert "regex" in str(op.managed_filter)  # rendered as text


def test_results_table(
    sync: Any, fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "results.db"
    _sqlite_conn(monkeypatch, "results_db", db)
    users = [person(1), person(2, email="bad"), person(3)]

    sync(users=users, results_conn_id="results_db", fail_on_error=False)
    sync(
        users=[person(1, lastname="New"), person(3)],
        results_conn_id="results_db",
        results_table="main.sync_out",
    )

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT run_id, resource, mapping_code, source_row, action, status, changed_fields, message "
            "FROM smartarena_sync_results ORDER BY mapping_code"
        ).fetchall()
        second = conn.execute(
            "SELECT mapping_code, status, changed_fields FROM sync_out ORDER BY 1"
        ).fetchall()
    assert [r[:6] for r in rows] == [
        ("test_run_1", "user", "hr-1", 1, "create", "created"),
        ("test_run_1", "user", "hr-2", 2, "invalid", "invalid"),
        ("test_run_1", "user", "hr-3", 3, "create", "created"),
    ]
    assert "not an e-mail address" in rows[1][7]
    assert second == [("hr-1", "updated", "lastname"), ("hr-3", "unchanged", None)]


def test_results_table_name_is_checked(sync: Any) -> None:
    with pytest.raises(AirflowException, match="not a plain table name"):
        sync(users=[person(1)], results_conn_id="x", results_table="t; DROP TABLE users")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one source of users"),
        ({"users": [], "source_path": "x.csv"}, "exactly one source of users"),
        ({"source_sql": "SELECT 1"}, "source_sql needs source_conn_id"),
    ],
)
def test_source_arguments_are_checked_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SmartArenaUserSyncOperator(task_id="sync", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "merge"}, "mode: expected one of upsert, create_only, update_only, mirror"),
        ({"mode": "mirror"}, "mode='mirror' needs managed_filter"),
        ({"mode": "mirror", "managed_filter": ""}, "an empty prefix would manage every user"),
        ({"mode": "mirror", "managed_filter": {"regex": "("}}, "bad regex"),
        ({"max_deletes": "lots"}, "max_deletes: expected a count"),
        ({"delete_mode": 3}, "expected one of 1 \\(PARTIAL\\), 2 \\(FULL\\)"),
        ({"dry_run": "maybe"}, "dry_run: expected true or false"),
        ({"source_format": "xml", "users": None, "source_path": "a.txt"}, "source_format: expected one of"),
    ],
)
def test_bad_settings_fail_before_any_request(
    sync: Any, fresh_sandbox: Any, kwargs: dict[str, Any], message: str
) -> None:
    fresh_sandbox.reset_stats()
    with pytest.raises(AirflowException, match=message):
        sync(**{"users": [person(1)], **kwargs})
    assert fresh_sandbox.stats()["total"] == 0
