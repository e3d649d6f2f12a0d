"""Fixtures of the hook tests.

``make_hook``, ``scripted`` and ``log_events`` are shared with the other suites (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook


@pytest.fixture
def hook(fresh_sandbox: Any, make_hook: Callable[..., SmartArenaHook]) -> SmartArenaHook:
    """A hook on a sandbox reset for this test (faults, data and stats may be changed)."""
    return make_hook(fresh_sandbox.connection_json())
