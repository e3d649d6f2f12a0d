"""Shared pieces of the reliability suite: scale, fault settings, figures, table checks, local sandboxes.

CI runs everything at a small scale; ``SMARTARENA_SOAK=1`` (what ``tests/reliability/soak.py`` sets)
switches to the larger scale and enables the tests marked ``soak``. Tests record what they checked
with the ``figures`` fixture; the soak script adds those records up.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import uvicorn

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS
from airflow_provider_smartarena.sandbox.app import create_app
from airflow_provider_smartarena.sandbox.cli import config_from_args, options_to_argv
from airflow_provider_smartarena.sandbox.server import (
    SandboxHttpProtocol,
    base_url,
    bind_socket,
    build_server,
)
from airflow_provider_smartarena.sandbox.state import SandboxState
from airflow_provider_smartarena.sandbox.testing import SandboxServer, connection_json
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from tests.transfers._operators import STATE as STATE_TABLE
from tests.transfers._operators import TABLE
from tests.transfers.conftest import Warehouse, assert_same_table, normalize

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"

SOAK = os.environ.get("SMARTARENA_SOAK", "").strip().lower() not in ("", "0", "false", "no")
FIGURES_ENV = "SMARTARENA_SOAK_FIGURES"

KEY = ("user_mapping_code", "course_mapping_code")

#: Quick retries for the chaos runs: what is tested is the outcome under faults, not the waiting.
FAST_RETRIES: dict[str, Any] = {"retry_backoff": 0.05, "retry_max_wait": 5.0, "max_retries": 10}


@dataclass(frozen=True)
class Scale:
    """How big each kind of test runs."""

    activities: int
    users: int
    courses: int
    page_size: int
    runs: int
    tick_changes: int
    latency_ms: int
    sync_users: int
    random_kills: int
    load_seconds: float
    seeds: tuple[int, ...]


CI_SCALE = Scale(
    activities=1200,  # 24 pages of 50 ms: the first run outlives its 2-second token's renewal
    users=80,
    courses=15,
    page_size=50,
    runs=3,
    tick_changes=120,
    latency_ms=50,
    sync_users=40,
    random_kills=2,
    load_seconds=10.0,
    seeds=(11,),
)
SOAK_SCALE = Scale(
    activities=20_000,
    users=800,
    courses=40,
    page_size=200,
    runs=8,
    tick_changes=1500,
    latency_ms=50,
    sync_users=200,
    random_kills=8,
    load_seconds=60.0,
    seeds=(11, 12, 13),
)
SCALE = SOAK_SCALE if SOAK else CI_SCALE


def chaos_faults(seed: int, *, latency_ms: int | None = None) -> dict[str, Any]:
    """Every fault kind at once: 10% 5xx, 5% 429 with Retry-After, 2% drops, 2 s tokens, latency."""
    return {
        "error_rate": 0.10,
        "rate_limit_rate": 0.05,
        "retry_after": "0.2",
        "drop_rate": 0.02,
        "token_ttl": 2,
        "latency_ms": SCALE.latency_ms if latency_ms is None else latency_ms,
        "seed": seed,
    }


def faults_injected(sandbox: SandboxServer) -> int:
    return int(sum(sandbox.stats()["faults"].values()))


# ---------------------------------------------------------------------------------------------
# figures for the soak report


class Figures:
    """Appends what a test checked to the soak figures file (a no-op when none is set)."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.path = os.environ.get(FIGURES_ENV)

    def add(self, **counts: int | float) -> None:
        if not self.path:
            return
        line = json.dumps({"test": self.test, **counts})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


# ---------------------------------------------------------------------------------------------
# the warehouse compared with the sandbox's ground truth


@dataclass(frozen=True)
class TableCheck:
    compared: int
    lost: int
    duplicated: int


def _key(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record["user_mapping_code"]), str(record["course_mapping_code"]))


def check_rows(rows: list[dict[str, Any]], truth: list[dict[str, Any]]) -> TableCheck:
    """Counts of ground-truth rows missing from ``rows`` and of keys ``rows`` holds more than once."""
    keys = [_key(r) for r in rows]
    distinct = set(keys)
    return TableCheck(
        compared=len(truth),
        lost=len({_key(t) for t in truth} - distinct),
        duplicated=len(keys) - len(distinct),
    )


def assert_table_is_ground_truth(
    warehouse: Warehouse, truth: list[dict[str, Any]], figures: Figures, table: str = TABLE
) -> TableCheck:
    """The whole table equals the ground truth, field by field; the figures record the counts."""
    rows = warehouse.rows(table)
    check = check_rows(rows, truth)
    figures.add(records_compared=check.compared, lost=check.lost, duplicated=check.duplicated)
    assert (check.lost, check.duplicated) == (0, 0), check
    assert_same_table(rows, truth, USER_COURSE_COLUMNS, KEY)
    return check


def stored_watermark(warehouse: Warehouse, table: str = TABLE) -> str | None:
    stream = f"usercourses:{warehouse.name(table)}"
    rows = [r for r in warehouse.state(STATE_TABLE) if r["stream"] == stream]
    return str(rows[0]["watermark"]) if rows else None


def assert_watermark_consistent(
    watermark: str | None, rows: list[dict[str, Any]], truth: list[dict[str, Any]]
) -> None:
    """The watermark covers only loaded data: at most the newest row loaded, and every ground-truth
    row dated at or before it is in the table with exactly that ``updated_at``."""
    if watermark is None:
        return
    loaded = {_key(r): normalize("datetime", r["updated_at"]) for r in rows}
    assert loaded, f"a watermark ({watermark}) over an empty table"
    assert watermark <= max(v for v in loaded.values() if v), (watermark, max(loaded.values()))
    uncovered = [
        (_key(t), t["updated_at"], loaded.get(_key(t)))
        for t in truth
        if t["updated_at"] <= watermark and loaded.get(_key(t)) != t["updated_at"]
    ]
    assert not uncovered, f"the watermark {watermark} passes {len(uncovered)} unloaded rows: {uncovered[:5]}"


# ---------------------------------------------------------------------------------------------
# the platform's users compared with the desired ones

COMPARED = (
    "firstname",
    "lastname",
    "date_of_birth",
    "branch_mapping_code",
    "location_mapping_code",
    "workplace_mapping_code",
    "language_code",
)


def assert_platform_matches(sandbox: SandboxServer, desired: list[dict[str, Any]], figures: Figures) -> None:
    """The managed users on the platform are exactly the desired ones, each once, field by field."""
    managed = [u for u in sandbox.state("users") if u["mapping_code"].startswith("hr-")]
    codes = [u["mapping_code"] for u in managed]
    wanted = {u["mapping_code"]: u for u in desired}
    lost = len(set(wanted) - set(codes))
    figures.add(records_compared=len(desired), lost=lost, duplicated=len(codes) - len(set(codes)))
    assert sorted(codes) == sorted(wanted)
    emails = [u["email"].casefold() for u in managed]
    assert len(emails) == len(set(emails))
    differences = []
    for user in managed:
        want = wanted[user["mapping_code"]]
        shown = {name: user.get(name) for name in COMPARED}
        expected = {name: want.get(name, user.get(name)) for name in COMPARED}
        if user["email"].casefold() != want["email"].casefold():
            differences.append((user["mapping_code"], "email", user["email"], want["email"]))
        if sorted(user["roles"]) != sorted(want["roles"]):
            differences.append((user["mapping_code"], "roles", user["roles"], want["roles"]))
        differences += [
            (user["mapping_code"], k, shown[k], expected[k]) for k in COMPARED if shown[k] != expected[k]
        ]
    assert not differences, differences[:10]


# ---------------------------------------------------------------------------------------------
# operators with quick retries


class ChaosExtractOperator(SmartArenaUserCoursesToSqlOperator):
    """The extraction with quick retries; ``bearers`` collects the tokens its answered calls used."""

    def get_smartarena_hook(self) -> SmartArenaHook:
        hook = SmartArenaHook(self.smartarena_conn_id, **FAST_RETRIES)
        self.bearers: set[str] = set()

        def note(response: Any, *args: Any, **kwargs: Any) -> None:
            bearer = response.request.headers.get("Authorization")
            if bearer and response.status_code == 200:
                self.bearers.add(bearer)

        hook.get_conn().hooks["response"].append(note)
        return hook


class ChaosSyncOperator(SmartArenaUserSyncOperator):
    @cached_property
    def hook(self) -> SmartArenaHook:
        return SmartArenaHook(smartarena_conn_id=self.smartarena_conn_id, **FAST_RETRIES)


class FakeTaskInstance:
    """What the operators touch of a task instance outside a task runner: XCom pushes."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def task_context(run_id: str = "reliability") -> Any:
    """The part of a task's context the operators read (typed Any: it is no whole ``Context``)."""
    return {"run_id": run_id, "ti": FakeTaskInstance()}


# ---------------------------------------------------------------------------------------------
# a sandbox served from a thread of this process (optionally over TLS), with its state at hand


@dataclass
class LocalSandbox:
    """A sandbox in this process: ``admin`` drives it over plain HTTP, ``url`` is where clients go
    (HTTPS when started with a certificate) with the client credentials, ``state`` is its live state
    (e.g. the issued tokens)."""

    admin: SandboxServer
    url: str
    client_id: str
    client_secret: str
    state: SandboxState

    def connection_json(self, **extra: Any) -> str:
        return connection_json(self.url, self.client_id, self.client_secret, **extra)

    def issued_tokens(self) -> list[str]:
        """Every access token issued since start (the sandbox has no admin call for this)."""
        return list(self.state.tokens._expiry)


def _serve(server: uvicorn.Server, sock: socket.socket) -> Callable[[], None]:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return stop


def _wait_started(server: uvicorn.Server) -> None:
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the in-process sandbox did not start")
        time.sleep(0.02)


@contextlib.contextmanager
def local_sandbox(*, tls: tuple[Path, Path] | None = None, **options: Any) -> Iterator[LocalSandbox]:
    """Serve a sandbox from threads of this process; with ``tls=(cert, key)`` also over HTTPS.

    The admin API is always on a plain-HTTP socket; the HTTPS socket serves the same state.
    """
    config = config_from_args(options_to_argv({"host": "127.0.0.1", "port": 0, **options}))
    server, sock, state = build_server(config)
    stoppers = [_serve(server, sock)]
    url = base_url(sock)
    try:
        _wait_started(server)
        if tls is not None:
            tls_sock = bind_socket("127.0.0.1", 0)
            tls_server = uvicorn.Server(
                uvicorn.Config(
                    create_app(state),
                    http=SandboxHttpProtocol,
                    lifespan="off",
                    log_level="warning",
                    date_header=False,
                    server_header=False,
                    ssl_certfile=str(tls[0]),
                    ssl_keyfile=str(tls[1]),
                )
            )
            stoppers.append(_serve(tls_server, tls_sock))
            _wait_started(tls_server)
            url = base_url(tls_sock).replace("http://", "https://")
        admin = SandboxServer(base_url(sock), config.client_id, config.client_secret, lambda: None)
        yield LocalSandbox(admin, url, config.client_id, config.client_secret, state)
    finally:
        for stop in reversed(stoppers):
            stop()
