"""Every example DAG, run through Airflow with and without a logical date, and with a failure.

Airflow 3's REST API and CLI trigger runs without a logical date (``{{ ds }}`` is undefined
there); ``airflow dags test`` always sets one. ``_run_dags.py`` runs ``dag.test()`` both ways on a
temporary AIRFLOW_HOME, against a live sandbox (``--live``: learners finish courses on their own)
and a SQLite warehouse. All runs of a phase share one Airflow process, to keep this cheap.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._airflow import airflow_env, new_airflow_home
from tests._helpers import load_module
from tests.sandbox.conftest import Api

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags_examples"
RUNNER = Path(__file__).with_name("_run_dags.py")
DATE = "2026-11-01T04:00:00+00:00"
ALL_DAGS = (
    "smartarena_user_provisioning",
    "smartarena_user_provisioning_from_csv",
    "smartarena_course_enrolment",
    "smartarena_usercourses_to_warehouse",
    "smartarena_usercourses_reconcile",
    "smartarena_fresh_activity_report",
)
# conf that makes each DAG do its real work (the provisioning example only plans by default).
CONF: dict[str, dict[str, Any] | None] = {"smartarena_user_provisioning": {"dry_run": False}}
FAILING: dict[str, dict[str, Any]] = {
    # A learner that does not exist and that the DAG does not own: its work cannot be done.
    "smartarena_course_enrolment": {"learners": ["learn-0001", "nobody-404"]},
    # A user outside the DAG's namespace (the CSV mirror owns hr-).
    "smartarena_user_provisioning": {
        "dry_run": False,
        "users": [{"mapping_code": "hr-9001", "email": "x@example.si", "firstname": "X", "lastname": "Y"}],
    },
}


def _example_users() -> list[dict[str, Any]]:
    module = load_module(DAGS / "smartarena_user_provisioning.py", "provisioning_example")
    users: list[dict[str, Any]] = module.EXAMPLE_USERS
    return users


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(seed=4, users=30, courses=5, activities=60, live=50) as server:
        yield server


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, migrated_airflow: Path, live_sandbox: SandboxServer
) -> dict[str, str]:
    home = new_airflow_home(migrated_airflow, tmp_path_factory.mktemp("examples_home"))
    warehouse = {"conn_type": "sqlite", "host": str(home / "warehouse.db")}
    return airflow_env(
        home,
        DAGS,
        AIRFLOW_CONN_SMARTARENA_DEFAULT=live_sandbox.connection_json(),
        AIRFLOW_CONN_SMARTARENA_WAREHOUSE=json.dumps(warehouse),
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )


def _run(env: dict[str, str], plan: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
    plan_file = tmp / "plan.json"
    plan_file.write_text(json.dumps(plan))
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(plan_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    output = done.stdout + done.stderr
    results = [json.loads(line[7:]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0, output[-8000:]
    assert len(results) == len(plan), output[-8000:]
    return results


@pytest.fixture(scope="module")
def runs(
    env: dict[str, str], live_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], dict[str, Any]]:
    plan: list[dict[str, Any]] = []
    for dag_id in ALL_DAGS:
        for date in (DATE, None):
            plan.append(
                {"dag_id": dag_id, "logical_date": date, "conf": CONF.get(dag_id), "kind": date or "none"}
            )
    for dag_id, conf in FAILING.items():
        plan.append({"dag_id": dag_id, "logical_date": None, "conf": conf, "kind": "failure"})
    results = _run(env, plan, tmp_path_factory.mktemp("plan"))
    return {(item["dag_id"], item["kind"]): result for item, result in zip(plan, results, strict=True)}


@pytest.mark.parametrize("kind", [DATE, "none"])
@pytest.mark.parametrize("dag_id", ALL_DAGS)
def test_every_example_succeeds_with_and_without_a_logical_date(
    runs: dict[tuple[str, str], dict[str, Any]], dag_id: str, kind: str
) -> None:
    run = runs[(dag_id, kind)]
    assert (run["logical_date"] is None) == (kind == "none")
    bad = {task: states for task, states in run["tasks"].items() if set(states) - {"success", "skipped"}}
    assert not bad, run
    assert run["state"] == "success", run


@pytest.mark.parametrize("dag_id", sorted(FAILING))
def test_a_run_whose_work_failed_ends_failed(
    runs: dict[tuple[str, str], dict[str, Any]], dag_id: str
) -> None:
    run = runs[(dag_id, "failure")]
    assert run["state"] == "failed", run
    if dag_id == "smartarena_course_enrolment":
        # The reporting task still runs and reports; the run's state follows the work regardless.
        assert run["tasks"]["notify"] == ["success"], run
        assert run["tasks"]["ensure_learners"] == ["failed"], run


def test_the_enrolment_learners_finished_on_the_live_sandbox(
    runs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    run = runs[("smartarena_course_enrolment", "none")]
    assert run["tasks"]["wait_for_completion"] == ["success"] * 3, run


def test_the_csv_mirror_leaves_what_the_conf_triggered_example_created(
    runs: dict[tuple[str, str], dict[str, Any]], live_sandbox: SandboxServer
) -> None:
    # The mirror ran after the conf-triggered example (ALL_DAGS order), twice.
    assert runs[("smartarena_user_provisioning_from_csv", "none")]["state"] == "success"
    present = {user["mapping_code"] for user in live_sandbox.state("users")}
    for user in _example_users():
        assert user["mapping_code"] in present, f"the CSV mirror deleted {user['mapping_code']}"


def test_a_deleted_user_is_marked_in_the_users_snapshot(
    runs: dict[tuple[str, str], dict[str, Any]],
    env: dict[str, str],
    live_sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    warehouse = Path(env["AIRFLOW_HOME"]) / "warehouse.db"
    gone = next(
        u["mapping_code"]
        for u in live_sandbox.state("users")
        if not u["mapping_code"].startswith(("hr-", "ext-", "learn-"))
    )
    api = Api(live_sandbox)
    api.ok(api.delete("/api/users", {"mapping_code": gone}))
    plan = [{"dag_id": "smartarena_usercourses_to_warehouse", "logical_date": None, "conf": None}]
    assert _run(env, plan, tmp_path_factory.mktemp("plan2"))[0]["state"] == "success"
    with sqlite3.connect(warehouse) as db:
        (deleted_at,) = db.execute(
            "SELECT _deleted_at FROM smartarena_users WHERE mapping_code = ?", (gone,)
        ).fetchone()
    assert deleted_at is not None


def test_the_stream_writers_share_a_one_slot_pool_and_the_snapshots_mark_deletions() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "smartarena_usercourses_to_warehouse.py"))
    assert not bag.import_errors, bag.import_errors
    incremental = bag.dags["smartarena_usercourses_to_warehouse"]
    reconcile = bag.dags["smartarena_usercourses_reconcile"]
    writers = [incremental.get_task("extract_usercourses"), reconcile.get_task("reconcile_usercourses")]
    assert {task.pool for task in writers} == {"smartarena_user_courses_stream"}
    snapshots = [task for task in incremental.tasks if task.task_id.startswith("snapshot_")]
    assert len(snapshots) == 3
    assert all(getattr(task, "mark_deleted", False) for task in snapshots)
