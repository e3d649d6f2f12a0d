"""Shared fixtures: one Smart ARENA sandbox per test session (per xdist worker).

``sandbox`` is the running server (see airflow_provider_smartarena/sandbox/testing.py); read-only
tests may use it directly. Tests that change data, faults or the clock use ``fresh_sandbox``, which
resets it before and after the test (re-seeded with the sizes below; faults, stats and clock back to
their start values). ``migrated_airflow`` is an Airflow home to copy (see tests/_airflow.py).

The hook fixtures are shared by every suite that builds hooks (hook, probe, reliability ...):
``make_hook`` (a hook on a fresh connection id, with the keyword defaults of ``hook_defaults``, which
a directory's conftest may override), ``scripted`` (loopback servers that answer what a test
scripts, see tests/hook/scripted.py), ``log_events`` (every log event of the test) and ``now`` (the
current UTC time, read when the test starts rather than when its module is imported, which may be
minutes earlier in a long run).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from airflow import __version__ as airflow_version

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._airflow import migrate
from tests.hook.scripted import Route, ScriptedServer

SANDBOX_OPTIONS = {"seed": 1, "users": 50, "courses": 10, "activities": 500}
AIRFLOW_V_3 = int(airflow_version.split(".")[0]) >= 3
PACKAGE = SmartArenaHook.__module__.split(".")[0]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(**SANDBOX_OPTIONS) as server:
        yield server


@pytest.fixture
def fresh_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The session sandbox, reset before the test and again after it (so ``sandbox`` stays clean)."""
    sandbox.reset(**SANDBOX_OPTIONS)
    yield sandbox
    sandbox.reset(**SANDBOX_OPTIONS)


@pytest.fixture(scope="session")
def migrated_airflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home whose SQLite metadata database is migrated once per test session.

    xdist workers share it: the first to get the lock migrates, the others wait and copy.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this session's directory, above every worker's own
    shared = root / "smartarena-airflow-template"
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (shared / "migrated").exists():
                migrate(shared)
                (shared / "migrated").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return shared


# ---------------------------------------------------------------------- hooks, scripted servers, logs


@pytest.fixture
def now() -> dt.datetime:
    """The current time in UTC, whole seconds, read when the test starts."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def hook_defaults() -> dict[str, Any]:
    """Keyword arguments ``make_hook`` gives every hook: short waits, so retry tests stay fast."""
    return {"retry_backoff": 0.005, "retry_max_wait": 2.0}


@pytest.fixture
def make_hook(
    monkeypatch: pytest.MonkeyPatch, hook_defaults: dict[str, Any]
) -> Iterator[Callable[..., SmartArenaHook]]:
    """``make_hook(connection_json, **hook_kwargs)``: a hook on a fresh connection id, closed afterwards."""
    hooks: list[SmartArenaHook] = []

    def make(conn: str, **kwargs: Any) -> SmartArenaHook:
        conn_id = f"sa_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn)
        hook = SmartArenaHook(conn_id, **{**hook_defaults, **kwargs})
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        hook.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Route], ScriptedServer]]:
    """``scripted(route)``: a loopback server answering with ``route(request)``, closed afterwards."""
    servers: list[ScriptedServer] = []

    def start(route: Route) -> ScriptedServer:
        server = ScriptedServer(route)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


class _EventHandler(logging.Handler):
    """Records stdlib log records as structlog-style event dicts (``event``, ``log_level``)."""

    def __init__(self, events: list[MutableMapping[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append({"event": record.getMessage(), "log_level": record.levelname.lower()})


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log event (DEBUG included) of the test, as structlog event dicts.

    Airflow 3 logs through structlog; Airflow 2 through the stdlib logger named after the class.
    """
    if not AIRFLOW_V_3:
        events: list[MutableMapping[str, Any]] = []
        handler = _EventHandler(events)
        # BaseHook names its logger "airflow.task.hooks.<module>.<class>"; plain loggers use the module.
        loggers = [logging.getLogger(f"airflow.task.hooks.{PACKAGE}"), logging.getLogger(PACKAGE)]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        try:
            yield events
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(handler)
                logger.setLevel(level)
        return
    import structlog
    import structlog.testing

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)
