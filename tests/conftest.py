"""Shared fixtures: one Smart ARENA sandbox per test session (per xdist worker).

``sandbox`` is the running server (see airflow_provider_smartarena/sandbox/testing.py); read-only
tests may use it directly. Tests that change data, faults or the clock use ``fresh_sandbox``, which
resets it before and after the test (re-seeded with the sizes below; faults, stats and clock back to
their start values).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

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
