"""The user sync against a Laravel 7+ tenant, whose dates arrive as UTC instants of local midnight."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .conftest import SyncRun, person, writes

ZONE = "Europe/Ljubljana"


@pytest.fixture
def laravel7_sync(fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> SyncRun:
    """The sync on a sandbox serving ``--iso-datetimes --app-timezone Europe/Ljubljana``."""
    fresh_sandbox.set_faults(iso_datetimes=True, timezone=ZONE)
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json(timezone=ZONE))
    return SyncRun()


def test_second_run_with_unchanged_dates_makes_no_writes(laravel7_sync: SyncRun, fresh_sandbox: Any) -> None:
    users = [person(1, date_of_birth="1990-01-02"), person(2, date_of_birth="1985-07-31")]
    assert laravel7_sync(users=users)["counts"] == {"user": {"created": 2}}
    # The API really sends the day before at 23:00 / 22:00 UTC (else this test proves nothing).
    served = {code: SmartArenaHook().get_user(code) for code in ("hr-1", "hr-2")}
    assert {code: u and u["date_of_birth"] for code, u in served.items()} == {
        "hr-1": "1990-01-01T23:00:00.000000Z",
        "hr-2": "1985-07-30T22:00:00.000000Z",
    }
    fresh_sandbox.reset_stats()

    second = laravel7_sync(users=users)

    assert writes(fresh_sandbox) == 0
    assert second["counts"] == {"user": {"unchanged": 2}}


def test_a_changed_date_is_one_update_of_that_field(laravel7_sync: SyncRun, fresh_sandbox: Any) -> None:
    laravel7_sync(users=[person(1, date_of_birth="1990-01-02")])
    fresh_sandbox.reset_stats()

    changed = laravel7_sync(users=[person(1, date_of_birth="1990-01-03")])

    assert writes(fresh_sandbox) == 1
    outcomes = [(r["mapping_code"], r["changed_fields"]) for r in changed["records"]]
    assert outcomes == [("hr-1", ["date_of_birth"])]
