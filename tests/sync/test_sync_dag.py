"""The sync through Airflow itself (``airflow dags test``): templates from ``conf``, XCom, secrets.

A temporary AIRFLOW_HOME with a SQLite metadata database and ``tests/sync/dags``; the sandbox is
``smartarena_default``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests._airflow import airflow_env, new_airflow_home, output_of, run_airflow

pytestmark = pytest.mark.airflow

DAG_ID = "smartarena_sync_e2e"
DAGS = Path(__file__).parent / "dags"
PASSWORD = "Pa55-word-from-conf"


@pytest.fixture
def sync_env(tmp_path: Path, migrated_airflow: Path, fresh_sandbox: SandboxServer) -> dict[str, str]:
    home = new_airflow_home(migrated_airflow, tmp_path / "airflow")
    return airflow_env(home, DAGS, AIRFLOW_CONN_SMARTARENA_DEFAULT=fresh_sandbox.connection_json())


def _trigger(env: dict[str, str], conf: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    output = output_of(run_airflow(env, "dags", "test", DAG_ID, "-c", json.dumps(conf)))
    lines = [line for line in output.splitlines() if "SYNC SUMMARY " in line]
    assert lines, output[-5000:]
    return output, json.loads(lines[-1].split("SYNC SUMMARY ", 1)[1])


def test_triggered_with_conf(sync_env: dict[str, str], fresh_sandbox: SandboxServer) -> None:
    users = [
        {
            "mapping_code": "hr-1",
            "email": "a@hr.example.com",
            "firstname": "Ana",
            "lastname": "Novak",
            "branch_mapping_code": "hr-branch",
            "roles": "4;6",
            "password": PASSWORD,
        },
        {"mapping_code": "hr-2", "email": "not-an-email", "firstname": "Bor", "lastname": "Kos"},
    ]

    output, summary = _trigger(sync_env, {"users": users, "dry_run": "false"})

    # The sync task failed at the end (an invalid row) after applying the rest, and pushed its
    # summary first: the downstream task read it from XCom.
    assert "Smart ARENA user sync: 0 failed and 1 invalid of 3 record(s)" in output
    assert summary["counts"] == {"branch": {"created": 1}, "user": {"created": 1, "invalid": 1}}
    state = {u["mapping_code"]: u for u in fresh_sandbox.state("users")}
    assert sorted(state["hr-1"]["roles"]) == [4, 6]
    assert state["hr-1"]["branch_mapping_code"] == "hr-branch"
    assert PASSWORD not in output  # not in the task logs, the rendered fields log or the summary
