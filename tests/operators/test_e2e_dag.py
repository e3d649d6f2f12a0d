"""Run ``tests/dags/smartarena_operators_e2e.py`` through Airflow (``airflow dags test``), twice.

Airflow gets a temporary AIRFLOW_HOME with a SQLite metadata database, the DAG folder
``tests/dags`` and the sandbox as ``smartarena_default``. The DAG's own ``check_*`` tasks assert the
sandbox's ground truth after each stage; here every task instance must have succeeded, the
deferrable sensor must really have deferred (and its trigger run in line), and nothing the DAG made
may be left behind. The second run proves a re-run finds no leftovers and duplicates nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._airflow import airflow_env, new_airflow_home, output_of, run_airflow

pytestmark = pytest.mark.airflow

DAG_ID = "smartarena_operators_e2e"
DAGS = Path(__file__).parent.parent / "dags"


@pytest.fixture(scope="module")
def e2e_sandbox() -> Iterator[SandboxServer]:
    # No generated activities: the sandbox's random learning then moves only the DAG's learners.
    with run_sandbox(seed=11, users=0, courses=0, activities=0) as server:
        yield server


@pytest.fixture(scope="module")
def e2e_env(
    tmp_path_factory: pytest.TempPathFactory, migrated_airflow: Path, e2e_sandbox: SandboxServer
) -> dict[str, str]:
    home = new_airflow_home(migrated_airflow, tmp_path_factory.mktemp("airflow_home"))
    return airflow_env(home, DAGS, AIRFLOW_CONN_SMARTARENA_DEFAULT=e2e_sandbox.connection_json())


def _task_states(home: str, run_id: str) -> dict[str, list[str]]:
    with sqlite3.connect(Path(home) / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, run_id),
        ).fetchall()
    states: dict[str, list[str]] = {}
    for task_id, _map_index, state in rows:
        states.setdefault(task_id, []).append(state)
    return states


def _latest_run(home: str) -> tuple[str, str]:
    with sqlite3.connect(Path(home) / "airflow.db") as db:
        row = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchone()
    return row[0], row[1]


def _made_by_the_dag(sandbox: SandboxServer) -> list[str]:
    state = sandbox.state("users,branches,locations,workplaces,qualifications,courses")
    return sorted(
        f"{resource}:{record['mapping_code']}"
        for resource, records in state.items()
        if isinstance(records, list)
        for record in records
        if str(record.get("mapping_code", "")).startswith("e2e-")
    )


def test_dag_runs_twice_through_airflow(e2e_env: dict[str, str], e2e_sandbox: SandboxServer) -> None:
    runs = []
    for attempt in (1, 2):
        done = run_airflow(e2e_env, "dags", "test", DAG_ID)
        output = output_of(done)
        run_id, run_state = _latest_run(e2e_env["AIRFLOW_HOME"])
        states = _task_states(e2e_env["AIRFLOW_HOME"], run_id)
        failed = {task: s for task, s in states.items() if set(s) != {"success"}}
        assert done.returncode == 0, output[-5000:]
        assert run_state == "success", f"run {attempt}: {failed}\n{output[-5000:]}"
        assert not failed, f"run {attempt}: {failed}"
        # Mapped tasks ran once per record; the deferrable sensor waited in its trigger.
        assert len(states["locations"]) == 2
        assert len(states["workplaces"]) == 2
        assert "[DAG TEST] running trigger in line" in output
        assert _made_by_the_dag(e2e_sandbox) == [], f"run {attempt} left records behind"
        runs.append(run_id)
    assert runs[0] != runs[1]
    stats = e2e_sandbox.stats()
    # Per run: one POST per branch, location, workplace, qualification, user and the course.
    assert stats["by_route"]["POST /api/users"] == 2 * 2
    assert stats["by_route"]["POST /api/branches"] == 2 * 3
    assert stats["by_route"]["POST /api/courses"] == 2
    assert stats["by_route"]["POST /api/coursemappingcode"] == 2
