"""Run ``tests/transfers/dags/smartarena_extract_e2e.py`` through Airflow (``airflow dags test``).

Checks what only a real task run shows: templated window bounds rendered from the data interval,
the summary returned as XCom, and the Asset event with its extra recorded in the metadata database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests._airflow import AIRFLOW_V_3, airflow_env, new_airflow_home, output_of, run_airflow

pytestmark = pytest.mark.airflow

DAG_ID = "smartarena_extract_e2e"
DAGS = Path(__file__).parent / "dags"
# Assets and their events were datasets in Airflow 2.
EVENTS_SQL = (
    "SELECT a.uri, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id ORDER BY e.id"
    if AIRFLOW_V_3
    else "SELECT d.uri, e.extra FROM dataset_event e JOIN dataset d ON d.id = e.dataset_id ORDER BY e.id"
)


def test_extraction_dag_runs_through_airflow(
    tmp_path: Path, migrated_airflow: Path, sandbox: SandboxServer
) -> None:
    sandbox.reset()
    home = new_airflow_home(migrated_airflow, tmp_path / "airflow_home")
    env = airflow_env(
        home,
        DAGS,
        AIRFLOW_CONN_SMARTARENA_DEFAULT=sandbox.connection_json(),
        AIRFLOW_CONN_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}),
    )
    if not AIRFLOW_V_3:
        # Airflow 2's `dags test` records dataset events only for datasets already in the database.
        synced = run_airflow(env, "dags", "reserialize")
        assert synced.returncode == 0, output_of(synced)[-3000:]

    done = run_airflow(env, "dags", "test", DAG_ID, "2024-06-01")
    output = output_of(done)
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)))
        events = db.execute(EVENTS_SQL).fetchall()
    assert done.returncode == 0, output[-5000:]
    assert set(states.values()) == {"success"}, f"{states}\n{output[-5000:]}"

    extras = {uri: json.loads(extra) for uri, extra in events}
    extracted = extras["smartarena-sql://warehouse/smartarena_user_courses"]
    assert extracted["rows_upserted"] == len(sandbox.state("usercourses"))
    assert extracted["mode"] == "incremental"
    assert extracted["watermark"]
    backfilled = extras["smartarena-sql://warehouse/usercourses_backfill"]
    assert backfilled["window"]["start"] == "2024-06-01 00:00:00"
    assert backfilled["window"]["end"] == "2024-06-02 00:00:00"
    assert extras["smartarena-sql://warehouse/smartarena_users"]["resource"] == "users"
