"""The sync through Airflow itself (``airflow dags test``): templates from ``conf``, XCom, secrets.

A temporary AIRFLOW_HOME with a SQLite metadata database and ``tests/sync/dags``; the sandbox is
``smartarena_default``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer

pytestmark = pytest.mark.airflow

DAG_ID = "smartarena_sync_e2e"
DAGS = Path(__file__).parent / "dags"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PASSWORD = "Pa55-word-from-conf"


@pytest.fixture
def airflow_env(tmp_path: Path, fresh_sandbox: SandboxServer) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_SMARTARENA_DEFAULT": fresh_sandbox.connection_json(),
    }
    migrate = subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    return env


def _trigger(env: dict[str, str], conf: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    done = subprocess.run(
        [AIRFLOW, "dags", "test", DAG_ID, "-c", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if "SYNC SUMMARY " in line]
    assert lines, output[-5000:]
    return output, json.loads(lines[-1].split("SYNC SUMMARY ", 1)[1])


def test_triggered_with_conf(airflow_env: dict[str, str], fresh_sandbox: SandboxServer) -> None:
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

    output, summary = _trigger(airflow_env, {"users": users, "dry_run": "false"})

    # The sync task failed at the end (an invalid row) after applying the rest, and pushed its
    # summary first: the downstream task read it from XCom.
    assert "Smart ARENA user sync: 0 failed and 1 invalid of 3 record(s)" in output
    assert summary["counts"] == {"branch": {"created": 1}, "user": {"created": 1, "invalid": 1}}
    state = {u["mapping_code"]: u for u in fresh_sandbox.state("users")}
    assert sorted(state["hr-1"]["roles"]) == [4, 6]
    assert state["hr-1"]["branch_mapping_code"] == "hr-branch"
    assert PASSWORD not in output  # not in the task logs, the rendered fields log or the summary
