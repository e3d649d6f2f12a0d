"""Shared fixtures: one Smart ARENA sandbox per test session (per xdist worker).

``sandbox`` is the running server (see airflow_provider_smartarena/sandbox/testing.py); read-only
tests may use it directly. Tests that change data, faults or the clock use ``fresh_sandbox``, which
resets it before and after the test (re-seeded with the sizes below; faults, stats and clock back to
their start values). ``migrated_airflow`` is an Airflow home to copy (see tests/_airflow.py).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests._airflow import migrate

SANDBOX_OPTIONS = {"seed": 1, "users": 50, "courses": 10, "activities": 500}


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
