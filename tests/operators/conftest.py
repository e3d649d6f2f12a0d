"""Fixtures of the operator, sensor and trigger tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._helpers import quiet_executor_safeguard  # noqa: F401  (autouse: execute() is called directly)

from ._support import AIRFLOW_V_3, FakeTaskInstance


@pytest.fixture
def context(monkeypatch: pytest.MonkeyPatch) -> Any:
    if not AIRFLOW_V_3:
        # Airflow 2's reschedule mode reads the first try's start from the metadata database; like
        # FakeTaskInstance.get_first_reschedule_date on Airflow 3, there is none.
        monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **kwargs: None)
    return {"ti": FakeTaskInstance(), "params": {}}


@pytest.fixture(scope="session")
def empty_sandbox() -> Iterator[SandboxServer]:
    """A sandbox with no generated people, courses or activities: ticks move only what tests create."""
    with run_sandbox(seed=7, users=0, courses=0, activities=0) as server:
        yield server


@pytest.fixture
def empty_conn(empty_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    empty_sandbox.reset(seed=7, users=0, courses=0, activities=0)
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", empty_sandbox.connection_json())
    return empty_sandbox
