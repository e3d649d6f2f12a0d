"""Fixtures of the probe tests: probing with a new hook, and a sandbox in local time.

``make_hook`` and ``scripted`` come from tests/conftest.py; here hooks do not retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.probe import ProbeReport, probe
from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

#: The session sandbox's sizes (tests/conftest.py), with a zone east of UTC.
LOCAL_ZONE = "Europe/Ljubljana"


@pytest.fixture
def hook_defaults() -> dict[str, Any]:
    """No retries: the probe reports what one request gets (and failures stay fast)."""
    return {"retry_backoff": 0.005, "max_retries": 0}


@pytest.fixture
def run_probe(make_hook: Callable[..., SmartArenaHook]) -> Callable[..., ProbeReport]:
    """``run_probe(sandbox, short=False, **connection_extras)``: probe a sandbox with a new hook."""

    def run(server: SandboxServer, *, short: bool = False, **extra: Any) -> ProbeReport:
        return probe(make_hook(server.connection_json(**extra)), short=short)

    return run


@pytest.fixture(scope="module")
def local_sandbox() -> Iterator[SandboxServer]:
    """A sandbox started with ``--timezone Europe/Ljubljana`` (every datetime on Ljubljana's clock)."""
    with run_sandbox(seed=1, users=20, courses=5, activities=200, timezone=LOCAL_ZONE) as server:
        yield server


def writes_of(server: SandboxServer) -> dict[str, int]:
    """Requests since the last stats reset other than GETs and the token request (must stay empty)."""
    stats = server.stats()
    others = {
        route: n
        for route, n in stats["by_route"].items()
        if not route.startswith("GET ") and route != "POST /oauth/access_token"
    }
    return {**others, **({"writes": stats["writes"]} if stats["writes"] else {})}
