"""Fixtures of the reliability and security suite.

The sandbox fixtures (``sandbox``, ``fresh_sandbox``) and the hook fixtures (``make_hook``,
``scripted``, ``log_events``) come from ``tests/conftest.py``; the ``warehouse`` fixture (SQLite,
PostgreSQL, MariaDB namespaces) from ``tests/transfers/conftest.py``.
Tests marked ``soak`` run only with ``SMARTARENA_SOAK=1`` (``make soak``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._helpers import quiet_executor_safeguard  # noqa: F401  (autouse: execute() is called directly)
from tests.hook.test_hook_test_connection import _self_signed
from tests.reliability._support import SOAK, Figures
from tests.transfers.conftest import warehouse  # noqa: F401  (fixture reused)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: larger or longer variant, run only with SMARTARENA_SOAK=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK:
        return
    skip = pytest.mark.skip(reason="soak variant: run with SMARTARENA_SOAK=1 (make soak)")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Records what a test checked (runs, faults, records compared ...) for the soak report."""
    return Figures(request.node.nodeid)


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (which is its own CA bundle) and its key."""
    return _self_signed(tmp_path_factory.mktemp("tls"))
