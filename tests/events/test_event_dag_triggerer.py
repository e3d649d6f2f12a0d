"""The example ``smartarena_activity_events`` under a real Airflow 3: dag-processor, scheduler, triggerer
and api-server (LocalExecutor) as subprocesses on a throwaway home, against a sandbox on loopback.

One deployment serves the whole module (Airflow's start-up is the expensive part); the tests run in
order and each builds on the state the previous one left. Nobody triggers the DAG: every run comes
from the watcher's asset events. The watcher polls every second (``SMARTARENA_EVENTS_POLL_INTERVAL``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._airflow import (
    AIRFLOW,
    AIRFLOW_V_3,
    airflow_env,
    api_server,
    free_port,
    new_airflow_home,
    stop_process_group,
    wait_until,
)

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(not AIRFLOW_V_3, reason="asset watchers need Airflow 3"),
]

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = ROOT / "dags_examples" / "smartarena_activity_events.py"
DAG_ID = "smartarena_activity_events"
POLL = 1.0
#: Long enough for several polls, and for a run to have been created if one were going to be.
QUIET = 8 * POLL


@contextlib.contextmanager
def _process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [AIRFLOW, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop_process_group(process, timeout=30)


def _signal(processes: list[subprocess.Popen[bytes] | None]) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    sandbox: SandboxServer
    warehouse: Path
    logs: Path
    triggerer: subprocess.Popen[bytes] | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db", timeout=30)) as conn:
            return conn.execute(sql, params).fetchall()

    def runs(self) -> list[tuple[str, str, str]]:
        return [
            (str(a), str(b), str(c))
            for a, b, c in self.query(
                "SELECT run_id, run_type, state FROM dag_run WHERE dag_id = ? ORDER BY id", DAG_ID
            )
        ]

    def asset_events(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT e.extra FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id"
            " WHERE a.name = 'smartarena_activity' ORDER BY e.id"
        )
        return [json.loads(extra) if isinstance(extra, str) else extra for (extra,) in rows]

    def summaries(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = 'completions_by_org_unit'"
            " AND key = 'return_value' ORDER BY run_id",
            DAG_ID,
        )
        return [json.loads(value) for (value,) in rows]

    def start_triggerer(self) -> None:
        log = self.logs / "triggerer.log"
        with log.open("ab") as out:
            self.triggerer = subprocess.Popen(
                [AIRFLOW, "triggerer"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_triggerer(self) -> None:
        assert self.triggerer is not None
        stop_process_group(self.triggerer, timeout=30)
        self.triggerer = None

    def stop_triggerer_if_running(self) -> None:
        if self.triggerer is not None:
            self.stop_triggerer()

    def watcher_ready(self) -> bool:
        # The watcher stores its first position once it has polled (the state store of the asset).
        return bool(
            self.query("SELECT 1 FROM asset_state_store WHERE key LIKE 'smartarena_activity_events:%'")
        )

    def wait_runs(self, count: int, timeout: float = 240) -> list[tuple[str, str, str]]:
        def done() -> bool:
            runs = self.runs()
            return len(runs) >= count and all(state in ("success", "failed") for _, _, state in runs)

        assert wait_until(done, timeout=timeout, interval=1), (self.runs(), self.tail())
        return self.runs()

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log")
        )


@pytest.fixture(scope="module")
def deployment(migrated_airflow: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("events")
    dags = tmp / "dags"
    dags.mkdir()
    (dags / DAG_FILE.name).symlink_to(DAG_FILE)
    logs = tmp / "logs"
    logs.mkdir()
    home = new_airflow_home(migrated_airflow, tmp / "airflow")
    warehouse = tmp / "warehouse.db"
    port = free_port()
    with run_sandbox(seed=5, users=20, courses=5, activities=100) as sandbox:
        env = airflow_env(
            home,
            dags,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="2",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            # Started together, the processes would each write an airflow.cfg with keys of their
            # own: the triggerer could not decrypt the watcher's arguments, the api-server would
            # refuse the scheduler's task tokens. One set of keys for all of them.
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
            AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
            # Other Airflow deployments on this machine must not hold the log servers' ports.
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="2",
            # One parse registers the DAG and its watcher; re-parsing would only cost CPU.
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="600",
            AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="0.5",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            AIRFLOW_CONN_SMARTARENA_DEFAULT=sandbox.connection_json(timezone="UTC"),
            AIRFLOW_CONN_SMARTARENA_WAREHOUSE=json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
            SMARTARENA_EVENTS_POLL_INTERVAL=str(POLL),
        )
        deploy = Deployment(home=home, env=env, sandbox=sandbox, warehouse=warehouse, logs=logs)
        with deploy.stack:
            # Everything starts at once; only the task runs need the api-server (Execution API).
            started = [
                deploy.stack.enter_context(_process(env, logs / "dag-processor.log", "dag-processor")),
                deploy.stack.enter_context(_process(env, logs / "scheduler.log", "scheduler")),
            ]
            deploy.start_triggerer()
            deploy.stack.callback(deploy.stop_triggerer_if_running)
            deploy.stack.enter_context(api_server(env, port, logs / "api-server.log"))
            # Runs first at the end: all stop at once rather than one after the other.
            deploy.stack.callback(lambda: _signal([*started, deploy.triggerer]))
            assert wait_until(deploy.watcher_ready, timeout=240, interval=1), deploy.tail()
            yield deploy


def _keys(changes: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    return {(c["user_mapping_code"], c["course_mapping_code"], c["status"]) for c in changes}


def test_no_activity_no_run(deployment: Deployment) -> None:
    time.sleep(QUIET)
    assert deployment.runs() == []


def test_a_burst_of_activity_makes_exactly_one_asset_triggered_run(deployment: Deployment) -> None:
    ticked = deployment.sandbox.tick(changes=5)["changes"]
    runs = deployment.wait_runs(1)
    assert len(runs) == 1
    _run_id, run_type, state = runs[0]
    assert (run_type, state) == ("asset_triggered", "success"), deployment.tail()
    (event,) = deployment.asset_events()
    assert event["from_trigger"] is True
    assert event["payload"]["count"] == 5
    assert _keys(event["payload"]["changes"]) == _keys(ticked)
    # The extraction loaded what the event announced.
    with contextlib.closing(sqlite3.connect(deployment.warehouse)) as conn:
        loaded = {
            (u, c, s)
            for u, c, s in conn.execute(
                "SELECT user_mapping_code, course_mapping_code, status FROM smartarena_user_courses"
            )
        }
    assert _keys(ticked) <= loaded
    # The summary read the event it was triggered by.
    (summary,) = deployment.summaries()
    assert (summary["events"], summary["changes_reported"]) == (1, 5)
    finished = len(
        {(c["user_mapping_code"], c["course_mapping_code"]) for c in ticked if c["status"] in (2, 3, 4)}
    )
    assert sum(summary["new_completions_by_org_unit"].values()) == finished
    assert summary["org_units"]


def test_the_payload_holds_no_personal_data(deployment: Deployment) -> None:
    stored = json.dumps(deployment.asset_events())
    people = deployment.sandbox.state("users")
    assert people
    for person in people:
        for name in ("email", "firstname", "lastname"):
            assert str(person[name]) not in stored, name
    assert deployment.sandbox.client_secret not in stored


def test_no_further_activity_no_further_run(deployment: Deployment) -> None:
    time.sleep(QUIET)
    assert len(deployment.runs()) == 1
    assert len(deployment.asset_events()) == 1


def test_a_second_burst_while_the_triggerer_is_down_makes_one_more_run(deployment: Deployment) -> None:
    # The triggerer restarts: the watcher is re-created from its arguments and must resume from the
    # position it stored, neither replaying the first burst nor skipping what changed while down.
    deployment.stop_triggerer()
    ticked = deployment.sandbox.tick(changes=3)["changes"]
    deployment.start_triggerer()
    runs = deployment.wait_runs(2)
    assert [state for _, _, state in runs] == ["success", "success"], deployment.tail()
    events = deployment.asset_events()
    assert len(events) == 2
    assert events[1]["payload"]["count"] == 3
    assert _keys(events[1]["payload"]["changes"]) == _keys(ticked)
    time.sleep(QUIET)
    assert len(deployment.runs()) == 2
