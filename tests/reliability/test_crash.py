"""SIGKILL the extraction and the sync, then run them again: nothing lost, nothing duplicated.

The runs that are killed are separate processes: ``tests/reliability/_crash_child.py`` (a process
forked from a forkserver that has Airflow imported, running the operator) and, for one case,
Airflow itself (``airflow tasks test`` on a throwaway home). Kills land at chosen points (in the
middle of a batch, just before and just after a commit, around the commit that writes the
watermark, while a page request is in flight) and after random delays. After every kill: no key
twice, and the stored watermark covers only rows that are loaded. After the rerun: the table is the
ground truth and the watermark follows its rule. A killed sync, rerun, completes its plan without a
duplicate create.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import multiprocessing.process
import os
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from tests._airflow import AIRFLOW, airflow_env, new_airflow_home, wait_until
from tests.reliability import _crash_child
from tests.reliability._support import (
    DAGS,
    SCALE,
    STATE_TABLE,
    TABLE,
    Figures,
    assert_platform_matches,
    assert_table_is_ground_truth,
    assert_watermark_consistent,
    check_rows,
    stored_watermark,
    task_context,
)
from tests.sync.conftest import person
from tests.transfers.conftest import Warehouse, normalize

FORMAT = "%Y-%m-%d %H:%M:%S"
SIZES = {"seed": 5, "users": 60, "courses": 12, "activities": 600}
PAGE_SIZE = 25
BATCH_SIZE = 30  # batches straddle pages
USERCOURSE_GETS = "GET /api/usercourses"


@pytest.fixture
def api(fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    fresh_sandbox.reset(**SIZES)
    fresh_sandbox.set_faults(page_size=PAGE_SIZE)
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    return fresh_sandbox


# ---------------------------------------------------------------------------------------------
# helpers


def extract_arguments(warehouse: Warehouse) -> dict[str, Any]:
    return {
        "sql_conn_id": warehouse.conn_id,
        "table": warehouse.name(TABLE),
        "state_table": warehouse.name(STATE_TABLE),
        "batch_size": BATCH_SIZE,
        "max_concurrency": 1,
    }


def extract_in_process(warehouse: Warehouse) -> dict[str, Any]:
    """A run that is not killed (the Airflow retry after a crash)."""
    operator = SmartArenaUserCoursesToSqlOperator(task_id="extract", **extract_arguments(warehouse))
    summary: dict[str, Any] = operator.execute({})
    return summary


FORKSERVER = multiprocessing.get_context("forkserver")
FORKSERVER.set_forkserver_preload(["tests.reliability._crash_child"])


def start_child(
    tmp_path: Path, job: str, operator: dict[str, Any], kill_at: str | None = None
) -> multiprocessing.process.BaseProcess:
    """Start a run in a child process (the connections are this process's AIRFLOW_CONN_* variables)."""
    spec = {"job": job, "operator": operator, "kill_at": kill_at}
    log = tmp_path / f"child-{job}-{os.urandom(3).hex()}.log"
    child = FORKSERVER.Process(target=_crash_child.run, args=(spec, dict(os.environ), str(log)))
    child.start()
    return child


def exit_code(child: multiprocessing.process.BaseProcess, timeout: float) -> int | None:
    child.join(timeout)
    return child.exitcode


def kill(child: multiprocessing.process.BaseProcess) -> None:
    assert child.exitcode is None, "the run ended before it could be killed"
    child.kill()  # SIGKILL
    assert exit_code(child, 30) == -signal.SIGKILL


def kill_unless_finished(child: multiprocessing.process.BaseProcess) -> bool:
    """SIGKILL ``child``; True if that killed it, False if it had just ended on its own (exit 0)."""
    child.kill()
    code = exit_code(child, 30)
    assert code in (-signal.SIGKILL, 0), f"the run failed on its own (exit code {code})"
    return code == -signal.SIGKILL


def gets(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["by_route"].get(USERCOURSE_GETS, 0))


def table_rows(warehouse: Warehouse) -> list[dict[str, Any]]:
    try:
        return warehouse.rows(TABLE)
    except Exception:  # killed before the table was created
        return []


def assert_consistent_after_a_kill(warehouse: Warehouse, sandbox: SandboxServer) -> list[dict[str, Any]]:
    """What a killed run leaves: no key twice, no row the source never had, a watermark that covers
    only loaded rows."""
    rows = table_rows(warehouse)
    truth = sandbox.state("usercourses")
    assert check_rows(rows, truth).duplicated == 0
    newest = {(t["user_mapping_code"], t["course_mapping_code"]): t["updated_at"] for t in truth}
    for row in rows:
        key = (row["user_mapping_code"], row["course_mapping_code"])
        assert key in newest, f"a row the source never had: {key}"
        assert normalize("datetime", row["updated_at"]) <= newest[key]
    assert_watermark_consistent(stored_watermark(warehouse), rows, truth)
    return truth


def assert_rerun_restores_ground_truth(
    warehouse: Warehouse, sandbox: SandboxServer, figures: Figures
) -> dict[str, Any]:
    summary = extract_in_process(warehouse)
    truth = sandbox.state("usercourses")
    assert_table_is_ground_truth(warehouse, truth, figures)
    cap = (dt.datetime.strptime(summary["t0"], FORMAT) - dt.timedelta(seconds=1)).strftime(FORMAT)
    assert stored_watermark(warehouse) == min(max(t["updated_at"] for t in truth), cap)
    return summary


def learning_happens(sandbox: SandboxServer, changes: int = 200) -> None:
    """``changes`` learning events at four different times, all of them seconds before the next run
    starts (so that its watermark covers them and a watermark past unloaded rows would show)."""
    for _ in range(4):
        sandbox.tick(changes=changes // 4, advance_seconds=600)
    sandbox.clock(advance_seconds=5)


# ---------------------------------------------------------------------------------------------
# extraction: kills at chosen points


KILL_POINTS = [
    pytest.param("rows:45", "first", id="mid-batch-first-run"),
    pytest.param("commit:2:before", "incremental", id="before-a-commit"),
    pytest.param("commit:2:after", "incremental", id="after-a-commit"),
    pytest.param("final:before", "first", id="before-the-watermark-commit-first-run"),
    pytest.param("final:before", "incremental", id="before-the-watermark-commit"),
    pytest.param("final:after", "incremental", id="after-the-watermark-commit"),
]


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("kill_at", "crashed_run"), KILL_POINTS)
def test_extraction_killed_at_a_point_then_rerun(
    warehouse: Warehouse, api: SandboxServer, figures: Figures, tmp_path: Path, kill_at: str, crashed_run: str
) -> None:
    if crashed_run == "incremental":
        extract_in_process(warehouse)
        learning_happens(api)
    before = stored_watermark(warehouse)

    child = start_child(tmp_path, "extract", extract_arguments(warehouse), kill_at)
    assert exit_code(child, 120) == -signal.SIGKILL, "the kill point was never reached"

    assert_consistent_after_a_kill(warehouse, api)
    after = stored_watermark(warehouse)
    if kill_at == "final:after":
        assert after is not None  # the run was complete: its watermark is stored
        assert after != before
    else:
        assert after == before  # a killed run never moves the watermark
    if kill_at == "commit:2:after":
        assert len(table_rows(warehouse)) > 0
    assert_rerun_restores_ground_truth(warehouse, api, figures)
    figures.add(runs=2, kills=1)


@pytest.mark.parametrize(
    "warehouse", ["sqlite", pytest.param("postgres", marks=pytest.mark.db)], indirect=True
)
def test_extraction_killed_while_a_page_is_in_flight(
    warehouse: Warehouse, api: SandboxServer, figures: Figures, tmp_path: Path
) -> None:
    extract_in_process(warehouse)
    learning_happens(api)
    before = stored_watermark(warehouse)
    api.set_faults(latency_ms=300)  # every request takes 300 ms on the server
    api.reset_stats()

    child = start_child(tmp_path, "extract", extract_arguments(warehouse))
    assert wait_until(lambda: gets(api) >= 4, timeout=120), "the run never reached page 4"
    kill(child)  # the 4th page request is still being answered

    assert_consistent_after_a_kill(warehouse, api)
    assert stored_watermark(warehouse) == before
    api.set_faults(latency_ms=0)
    assert_rerun_restores_ground_truth(warehouse, api, figures)
    figures.add(runs=2, kills=1)


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_extraction_killed_at_random_moments_again_and_again(
    warehouse: Warehouse, api: SandboxServer, figures: Figures, tmp_path: Path
) -> None:
    rng = random.Random(20261128)
    api.set_faults(latency_ms=20)
    kills = 0
    for _ in range(SCALE.random_kills):
        learning_happens(api, changes=150)
        api.reset_stats()
        child = start_child(tmp_path, "extract", extract_arguments(warehouse))
        # A random moment by progress (after 1 to 20 of the 24 pages were asked for, then somewhere
        # within that page), not by the clock: it stays inside the run however fast the run gets.
        after = rng.randint(1, 20)
        assert wait_until(
            lambda after=after, child=child: gets(api) >= after or child.exitcode is not None, timeout=120
        )
        if exit_code(child, rng.uniform(0.0, 0.02)) is None:
            kills += kill_unless_finished(child)
        assert_consistent_after_a_kill(warehouse, api)
    assert kills, "no run was killed: the kill moments fell after the runs ended"
    assert_rerun_restores_ground_truth(warehouse, api, figures)
    figures.add(runs=SCALE.random_kills + 1, kills=kills)


AIRFLOW_TASK = ["tasks", "test", "reliability_extract", "extract"]


@pytest.fixture
def airflow_task(
    api: SandboxServer, tmp_path: Path, migrated_airflow: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, str], Warehouse]:
    """The environment of ``airflow tasks test reliability_extract extract`` and its warehouse."""
    warehouse_json = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    monkeypatch.setenv("AIRFLOW_CONN_RELIABILITY_WAREHOUSE", warehouse_json)
    env = airflow_env(
        new_airflow_home(migrated_airflow, tmp_path / "airflow"),
        DAGS,
        AIRFLOW_CONN_SMARTARENA_DEFAULT=api.connection_json(),
        AIRFLOW_CONN_RELIABILITY_WAREHOUSE=warehouse_json,
    )
    return env, Warehouse("sqlite", "reliability_warehouse", None)


def kill_airflow_task(env: dict[str, str], api: SandboxServer, after_pages: int, log: Path) -> None:
    """Run the task through Airflow; SIGKILL its process group once it asked for ``after_pages`` pages."""
    api.reset_stats()
    with log.open("w") as out:
        task = subprocess.Popen(
            [AIRFLOW, *AIRFLOW_TASK], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        assert wait_until(lambda: gets(api) >= after_pages, timeout=180), "the task never got going"
        assert task.poll() is None, "the task ended before it could be killed"
        os.killpg(task.pid, signal.SIGKILL)  # the task process and anything it started
    finally:
        task.wait(timeout=30)


def retry_airflow_task(env: dict[str, str]) -> None:
    retry = subprocess.run(
        [AIRFLOW, *AIRFLOW_TASK], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert retry.returncode == 0, (retry.stdout + retry.stderr)[-5000:]


@pytest.mark.airflow
def test_extraction_task_killed_under_airflow_then_retried(
    api: SandboxServer, airflow_task: tuple[dict[str, str], Warehouse], figures: Figures, tmp_path: Path
) -> None:
    env, warehouse = airflow_task
    api.set_faults(latency_ms=200)
    pages = SIZES["activities"] // PAGE_SIZE
    kill_airflow_task(env, api, random.Random(7).randint(3, pages - 5), tmp_path / "killed.log")

    assert_consistent_after_a_kill(warehouse, api)
    assert stored_watermark(warehouse) is None  # a first run that did not finish stores none
    api.set_faults(latency_ms=0)
    retry_airflow_task(env)

    truth = api.state("usercourses")
    assert_table_is_ground_truth(warehouse, truth, figures)
    assert stored_watermark(warehouse) == max(t["updated_at"] for t in truth)  # the seeded past only
    figures.add(runs=2, kills=1)


@pytest.mark.soak
@pytest.mark.airflow
def test_extraction_task_killed_again_and_again_under_airflow(
    api: SandboxServer, airflow_task: tuple[dict[str, str], Warehouse], figures: Figures, tmp_path: Path
) -> None:
    env, warehouse = airflow_task
    rng = random.Random(11)
    kills = max(2, SCALE.random_kills // 2)
    for number in range(kills):
        learning_happens(api)
        api.set_faults(latency_ms=200)
        kill_airflow_task(env, api, rng.randint(1, 6), tmp_path / f"killed-{number}.log")
        assert_consistent_after_a_kill(warehouse, api)
    api.set_faults(latency_ms=0)
    retry_airflow_task(env)
    assert_table_is_ground_truth(warehouse, api.state("usercourses"), figures)
    figures.add(runs=kills + 1, kills=kills)


# ---------------------------------------------------------------------------------------------
# the sync


def sync_users(count: int) -> list[dict[str, Any]]:
    users = []
    for n in range(1, count + 1):
        refs = {"branch_mapping_code": f"hr-unit-{n % 3}"} if n % 3 == 0 else {}
        users.append(person(n, password=f"Pw-{n}-initial", **refs))
    return users


@pytest.mark.parametrize(
    ("route", "count"),
    [("POST /api/branches", 1), ("POST /api/users", 5), ("POST /api/users", 20)],
    ids=["while-creating-org-units", "early-in-the-users", "late-in-the-users"],
)
def test_sync_killed_mid_apply_then_rerun_completes_without_duplicates(
    api: SandboxServer, figures: Figures, tmp_path: Path, route: str, count: int
) -> None:
    users = sync_users(30)
    arguments: dict[str, Any] = {"users": users, "create_missing_refs": True, "max_concurrency": 4}
    api.set_faults(latency_ms=200)  # 30 users, 4 at a time: the last 10 take 600 ms at least
    api.reset_stats()

    child = start_child(tmp_path, "sync", arguments)
    assert wait_until(lambda: api.stats()["by_route"].get(route, 0) >= count, timeout=120)
    kill(child)

    api.set_faults(latency_ms=0)
    done = {u["mapping_code"] for u in api.state("users") if u["mapping_code"].startswith("hr-")}
    assert len(done) < len(users)  # the kill left work to do
    api.reset_stats()
    summary = SmartArenaUserSyncOperator(task_id="sync", **arguments).execute(task_context())

    stats = api.stats()
    assert "422" not in stats["by_status"], stats  # no create was refused as a duplicate
    assert stats["by_route"].get("POST /api/users", 0) == len(users) - len(done)
    assert summary["counts"]["user"] == {
        k: v for k, v in {"created": len(users) - len(done), "unchanged": len(done)}.items() if v
    }
    assert_platform_matches(api, users, figures)

    api.reset_stats()
    again = SmartArenaUserSyncOperator(task_id="sync", **arguments).execute(task_context())
    assert api.stats()["writes"] == 0
    assert again["counts"] == {"user": {"unchanged": len(users)}}
    figures.add(runs=3, kills=1)


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres", "mariadb"], indirect=True)
def test_a_writer_killed_holding_the_stream_lock_does_not_block_the_next_run(
    warehouse: Warehouse, api: SandboxServer, figures: Figures, tmp_path: Path
) -> None:
    """The stream lock dies with its holder (session advisory lock, GET_LOCK, flock): the retry
    after a SIGKILL goes through at once instead of waiting out ``lock_timeout``."""
    child = start_child(tmp_path, "extract", extract_arguments(warehouse), "commit:2:after")
    assert exit_code(child, 120) == -signal.SIGKILL, "the kill point was never reached"

    operator = SmartArenaUserCoursesToSqlOperator(
        task_id="extract", lock_timeout=10, **extract_arguments(warehouse)
    )
    operator.execute({})

    assert_table_is_ground_truth(warehouse, api.state("usercourses"), figures)
    figures.add(runs=2, kills=1)
