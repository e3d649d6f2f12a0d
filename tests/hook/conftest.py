"""Fixtures of the hook tests: hooks on the sandbox, and a scripted loopback server for hostile replies."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
from airflow import __version__ as airflow_version

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .scripted import Route, ScriptedServer

AIRFLOW_V_3 = int(airflow_version.split(".")[0]) >= 3
PACKAGE = SmartArenaHook.__module__.split(".")[0]

#: Small waits so retry tests stay fast.
FAST = {"retry_backoff": 0.005, "retry_max_wait": 2.0, "max_retry_wait": 2.0}


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SmartArenaHook]]:
    """``make_hook(connection_json, **hook_kwargs)``: a hook on a fresh connection id, closed afterwards."""
    hooks: list[SmartArenaHook] = []

    def make(conn: str, **kwargs: Any) -> SmartArenaHook:
        conn_id = f"sa_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn)
        hook = SmartArenaHook(conn_id, **{**FAST, **kwargs})
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        hook.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Route], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(route: Route) -> ScriptedServer:
        server = ScriptedServer(route)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def hook(fresh_sandbox: Any, make_hook: Callable[..., SmartArenaHook]) -> SmartArenaHook:
    """A hook on a sandbox reset for this test (faults, data and stats may be changed)."""
    return make_hook(fresh_sandbox.connection_json())


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
