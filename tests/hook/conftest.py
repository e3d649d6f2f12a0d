"""Fixtures of the hook tests: hooks on the sandbox, and a scripted loopback server for hostile replies."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
import structlog
import structlog.testing

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .scripted import Route, ScriptedServer

#: Small waits so retry tests stay fast.
FAST = {"retry_backoff": 0.005, "retry_max_wait": 2.0}


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


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log event (DEBUG included) of the test, as structlog event dicts."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as events:
            yield events
    finally:
        structlog.configure(**saved)
