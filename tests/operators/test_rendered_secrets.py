"""Passwords in templated records never reach the stored rendered template fields (issue 17 #8).

A real DAG run (``airflow dags test``) on a temporary AIRFLOW_HOME: the metadata table
``rendered_task_instance_fields`` (the UI's Rendered Template tab) must not hold any password,
and every user must still have been created with its password (the sandbox records that one
was sent).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests._airflow import airflow_env, new_airflow_home, output_of, run_airflow

pytestmark = pytest.mark.airflow

DAG_ID = "smartarena_rendered_secrets"
DAGS = Path(__file__).parent / "dags"


def _user(code: str, password: str) -> dict[str, Any]:
    return {
        "mapping_code": code,
        "email": f"{code}@hr.example.com",
        "firstname": "Pat",
        "lastname": "Secret",
        "password": password,
    }


def test_rendered_fields_hold_no_password(
    tmp_path: Path, migrated_airflow: Path, fresh_sandbox: SandboxServer
) -> None:
    home = new_airflow_home(migrated_airflow, tmp_path / "airflow")
    env = airflow_env(home, DAGS, AIRFLOW_CONN_SMARTARENA_DEFAULT=fresh_sandbox.connection_json())
    # Short ones too: Airflow's secrets masker leaves values under a few characters alone.
    passwords = {
        "rs-conf-1": "Conf-pass-1x",
        "rs-conf-2": "pw2",
        "rs-one": "One-pass-7z",
        "rs-map-1": "Mapped-pass-1q",
        "rs-map-2": "Mapped-pass-2q",
        "rs-sync-1": "Sync-pass-9k",
    }
    conf = {
        "users": [_user("rs-conf-1", passwords["rs-conf-1"]), _user("rs-conf-2", passwords["rs-conf-2"])],
        "one": _user("rs-one", passwords["rs-one"]),
        "mapped": [_user(c, passwords[c]) for c in ("rs-map-1", "rs-map-2")],
        "sync_users": [_user("rs-sync-1", passwords["rs-sync-1"])],
    }

    done = run_airflow(env, "dags", "test", DAG_ID, "-c", json.dumps(conf))

    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(
            db.execute(
                "SELECT task_id || ':' || map_index, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)
            ).fetchall()
        )
        stored = db.execute(
            "SELECT task_id, map_index, rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ?",
            (DAG_ID,),
        ).fetchall()
    assert set(states.values()) == {"success"}, (states, output_of(done)[-6000:])
    assert {(task_id, map_index) for task_id, map_index, _ in stored} >= {
        ("create_from_conf", -1),
        ("upsert_one", -1),
        ("create_mapped", 0),
        ("create_mapped", 1),
        ("sync", -1),
    }
    text = "\n".join(str(fields) for _, _, fields in stored)
    assert "rs-conf-1" in text  # the records are there, only their passwords are not
    for code, password in passwords.items():
        assert password not in text, f"{code}'s password is stored in rendered_task_instance_fields"
    # ... and every password still reached the API.
    users = {u["mapping_code"]: u for u in fresh_sandbox.state("users")}
    assert {code: users[code].get("has_password") for code in passwords} == dict.fromkeys(passwords, 1)
