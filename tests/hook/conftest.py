"""Fixtures of the hook tests.

``make_hook``, ``scripted`` and ``log_events`` are shared with the other suites (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .scripted import Route, ScriptedServer, connection_json


@pytest.fixture
def hook(fresh_sandbox: Any, make_hook: Callable[..., SmartArenaHook]) -> SmartArenaHook:
    """A hook on a sandbox reset for this test (faults, data and stats may be changed)."""
    return make_hook(fresh_sandbox.connection_json())


@pytest.fixture
def serve(
    scripted: Callable[[Route], ScriptedServer], make_hook: Callable[..., SmartArenaHook]
) -> Callable[..., tuple[ScriptedServer, SmartArenaHook]]:
    """``serve(route, hook_kwargs=None, **extras)`` -> (server, hook): a scripted server answering
    with ``route`` and a hook on it (``extras`` are the connection's, ``hook_kwargs`` the hook's)."""

    def start(
        route: Route, hook_kwargs: dict[str, Any] | None = None, **extras: Any
    ) -> tuple[ScriptedServer, SmartArenaHook]:
        server = scripted(route)
        return server, make_hook(connection_json(server.url, **extras), **(hook_kwargs or {}))

    return start
