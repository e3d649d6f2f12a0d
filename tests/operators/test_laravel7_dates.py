"""The record operators on a Laravel 7+ tenant: dates arrive as UTC instants of local midnight."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_smartarena.operators.users import SmartArenaUpsertUserOperator
from airflow_provider_smartarena.sandbox.testing import SandboxServer

from ._support import writes
from .test_records import ANA, kw

ZONE = "Europe/Ljubljana"


@pytest.fixture
def laravel7_conn(fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The reset sandbox serving ``--iso-datetimes --app-timezone Europe/Ljubljana``."""
    fresh_sandbox.set_faults(iso_datetimes=True, timezone=ZONE)
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json(timezone=ZONE))
    return fresh_sandbox


def test_upserting_the_same_date_again_is_unchanged(laravel7_conn: SandboxServer, context: Any) -> None:
    created = SmartArenaUpsertUserOperator(task_id="u", **kw(ANA)).execute(context)
    assert created["action"] == "created"
    before = writes(laravel7_conn)

    again = SmartArenaUpsertUserOperator(task_id="u", **kw(ANA)).execute(context)

    assert again["action"] == "unchanged"
    assert writes(laravel7_conn) == before
