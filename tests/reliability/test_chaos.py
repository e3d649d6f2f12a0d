"""Extraction and sync under every injected fault at once, over several runs with learning in between.

Faults on at the same time: 10% 5xx, 5% 429 with ``Retry-After``, 2% dropped connections, tokens that
expire every 2 s and added latency. After every run the warehouse table equals the sandbox's ground
truth field by field, and the watermark follows its rule; the sync converges to the desired users
and its next run, faults still on, sends no write at all.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests.reliability._support import (
    SCALE,
    SOAK,
    STATE_TABLE,
    TABLE,
    ChaosExtractOperator,
    ChaosSyncOperator,
    Figures,
    assert_platform_matches,
    assert_table_is_ground_truth,
    assert_watermark_consistent,
    chaos_faults,
    check_rows,
    faults_injected,
    stored_watermark,
    task_context,
)
from tests.sync.conftest import person
from tests.transfers.conftest import Warehouse

FORMAT = "%Y-%m-%d %H:%M:%S"
SIZES = {"users": SCALE.users, "courses": SCALE.courses, "activities": SCALE.activities}
WAREHOUSES = ["sqlite", pytest.param("postgres", marks=pytest.mark.db)]


@pytest.fixture
def api(fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The reset sandbox as ``smartarena_default``."""
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    return fresh_sandbox


def extract(warehouse: Warehouse, **kwargs: Any) -> tuple[dict[str, Any], set[str]]:
    """One extraction run; returns its summary and the bearer tokens its answered calls carried."""
    kwargs.setdefault("max_concurrency", 1)  # sequential pages: the first run outlives a 2 s token
    operator = ChaosExtractOperator(
        task_id="extract",
        sql_conn_id=warehouse.conn_id,
        table=warehouse.name(TABLE),
        state_table=warehouse.name(STATE_TABLE),
        batch_size=SCALE.page_size - 7,  # batches that straddle pages
        **kwargs,
    )
    summary: dict[str, Any] = operator.execute({})
    return summary, operator.bearers


def expected_watermark(summary: dict[str, Any], truth: list[dict[str, Any]]) -> str:
    """min(newest updated_at, T0 - 1 s): the rule the extraction must follow."""
    cap = dt.datetime.strptime(summary["t0"], FORMAT) - dt.timedelta(seconds=1)
    return min(max(r["updated_at"] for r in truth), cap.strftime(FORMAT))


@pytest.mark.parametrize("warehouse", WAREHOUSES, indirect=True)
@pytest.mark.parametrize("seed", SCALE.seeds)
def test_extraction_under_chaos_always_ends_at_the_ground_truth(
    warehouse: Warehouse, api: SandboxServer, figures: Figures, seed: int
) -> None:
    api.reset(seed=seed, **SIZES)
    api.set_faults(page_size=SCALE.page_size, **chaos_faults(seed))
    bearers: list[set[str]] = []
    for run in range(1, SCALE.runs + 1):
        summary, used = extract(warehouse)
        bearers.append(used)
        truth = api.state("usercourses")

        assert summary["complete"], summary
        assert_table_is_ground_truth(warehouse, truth, figures)
        assert stored_watermark(warehouse) == summary["new_watermark"] == expected_watermark(summary, truth)
        if run > 1:
            assert summary["previous_watermark"] is not None
            assert summary["records_read"] < len(truth)  # incremental, not the whole history again
        api.tick(changes=SCALE.tick_changes, advance_seconds=600)

    reconcile, _ = extract(warehouse, mode="full_refresh", mark_deleted=True)
    truth = api.state("usercourses")
    assert_table_is_ground_truth(warehouse, truth, figures)
    assert reconcile["rows_marked_deleted"] == 0

    faults = api.stats()["faults"]
    assert faults.get("error", 0) >= 3, faults
    if SOAK:  # enough requests that every kind of fault surely happened
        assert {"error", "rate_limit", "drop"} <= set(faults), faults
    assert len(bearers[0]) > 1  # the first, longest run renewed its 2-second token on the way
    figures.add(runs=SCALE.runs + 1, faults_injected=faults_injected(api))


# ---------------------------------------------------------------------------------------------
# the sync


def generation_one(count: int) -> list[dict[str, Any]]:
    """Desired users, some in org units that do not exist yet, some with an initial password."""
    users = []
    for n in range(1, count + 1):
        extra: dict[str, Any] = {}
        if n % 4 == 0:
            extra = {
                "branch_mapping_code": f"hr-branch-{n % 3}",
                "location_mapping_code": f"hr-loc-{n % 2}",
                "workplace_mapping_code": f"hr-wp-{n % 3}",
            }
        if n % 5 == 0:
            extra["password"] = f"Initial-Pw-{n}"
        users.append(person(n, roles=[6, 4] if n % 3 == 0 else [6], **extra))
    return users


def generation_two(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The next HR export: changed e-mails and names, leavers, and newcomers."""
    count = len(users)
    changed = []
    for n, user in enumerate(users, 1):
        if n % 7 == 0:
            continue  # left the company: mirror deletes them
        if n % 4 == 1:
            user = {**user, "email": f"renamed{n}@hr.example.com"}
        if n % 6 == 0:
            user = {**user, "lastname": f"Married{n}", "roles": [6, 11]}
        changed.append(user)
    return changed + [person(n) for n in range(count + 1, count + 4)]


def in_another_form(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same export written differently: roles reordered, e-mails in capitals, names for codes."""
    return [
        {
            **user,
            "roles": list(reversed(user["roles"])),
            "email": user["email"].upper(),
            "language_code": "slovenian",
            "date_of_birth": dt.date.fromisoformat(user["date_of_birth"]),
        }
        for user in users
    ]


def sync(users: list[dict[str, Any]]) -> dict[str, Any]:
    operator = ChaosSyncOperator(
        task_id="sync",
        users=users,
        mode="mirror",
        managed_filter="hr-",
        max_deletes=None,
        create_missing_refs=True,
        max_concurrency=4,
    )
    summary: dict[str, Any] = operator.execute(task_context())
    return summary


@pytest.mark.parametrize("seed", SCALE.seeds)
def test_sync_under_chaos_converges_and_its_next_run_writes_nothing(
    api: SandboxServer, figures: Figures, seed: int
) -> None:
    api.set_faults(**chaos_faults(seed))
    first = generation_one(SCALE.sync_users)
    second = generation_two(first)

    for desired in (first, second):
        summary = sync(desired)
        statuses = {s for per in summary["counts"].values() for s in per}
        assert not statuses & {"failed", "invalid"}, summary
        assert_platform_matches(api, desired, figures)
        api.tick(changes=SCALE.tick_changes, advance_seconds=60)

    writes_before = api.stats()["writes"]
    again = sync(in_another_form(second))

    assert api.stats()["writes"] == writes_before  # not one POST, PUT or DELETE, faults and all
    assert again["write_calls"] == 0
    assert again["counts"] == {"user": {"unchanged": len(second)}}
    assert_platform_matches(api, second, figures)
    faults = api.stats()["faults"]
    assert faults.get("error", 0) >= 3, faults
    if SOAK:
        assert {"error", "rate_limit", "drop"} <= set(faults), faults
    figures.add(runs=3, faults_injected=faults_injected(api))


@pytest.mark.soak
@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_extraction_under_chaos_while_learners_keep_learning(
    warehouse: Warehouse, api: SandboxServer, figures: Figures
) -> None:
    """Faults and data moving under the pages at once; every run leaves a consistent watermark."""
    api.reset(seed=SCALE.seeds[0], **SIZES)
    api.set_faults(page_size=SCALE.page_size, **chaos_faults(SCALE.seeds[0]))
    stop = threading.Event()

    def learning() -> None:
        while not stop.is_set():
            api.tick(changes=5)
            time.sleep(0.05)

    for _ in range(SCALE.runs):
        ticker = threading.Thread(target=learning, daemon=True)
        ticker.start()
        try:
            extract(warehouse, max_concurrency=4)
        finally:
            stop.set()
            ticker.join()
            stop.clear()
        truth = api.state("usercourses")
        rows = warehouse.rows(TABLE)
        assert check_rows(rows, truth).duplicated == 0
        assert_watermark_consistent(stored_watermark(warehouse), rows, truth)
    extract(warehouse)  # a quiet run catches up
    assert_table_is_ground_truth(warehouse, api.state("usercourses"), figures)
    figures.add(runs=SCALE.runs + 1, faults_injected=faults_injected(api))
