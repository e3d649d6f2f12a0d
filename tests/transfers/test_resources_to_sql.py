"""SmartArenaToSqlOperator: dimension snapshots through real HTTP into SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.transfers import SmartArenaToSqlOperator
from airflow_provider_smartarena.transfers._schema import DIMENSIONS
from tests.transfers.conftest import Warehouse, assert_same_table


def snapshot(warehouse: Warehouse, resource: str, **kwargs: Any) -> dict[str, Any]:
    operator = SmartArenaToSqlOperator(
        task_id=f"snapshot_{resource}",
        resource=resource,
        sql_conn_id=warehouse.conn_id,
        table=warehouse.name(f"smartarena_{resource}"),
        **kwargs,
    )
    summary: dict[str, Any] = operator.execute({})
    json.dumps(summary)
    return summary


def assert_snapshot(
    warehouse: Warehouse, api: Any, resource: str, rows: list[dict[str, Any]] | None = None
) -> None:
    columns, key = DIMENSIONS[resource]
    actual = warehouse.rows(f"smartarena_{resource}") if rows is None else rows
    assert_same_table(actual, api.state(resource), dict(columns), (key,))


def test_every_dimension_is_snapshotted_exactly(warehouse: Warehouse, api: Any) -> None:
    for resource in DIMENSIONS:
        summary = snapshot(warehouse, resource)
        assert summary["rows_written"] == len(api.state(resource)), resource
        assert_snapshot(warehouse, api, resource)
    columns = {c.lower() for c in warehouse.rows("smartarena_users")[0]}
    assert not any("password" in c for c in columns)


def test_snapshot_updates_and_marks_rows_gone_from_the_source(warehouse: Warehouse, api: Any) -> None:
    hook = SmartArenaHook()
    hook.create_location("loc-temporary", "Temporary site")
    snapshot(warehouse, "locations", mark_deleted=True)
    hook.update_location("loc-temporary", name="Renamed site")
    hook.delete_location("loc-temporary")
    first = api.state("locations")[0]
    hook.update_location(first["mapping_code"], name="Head office (moved)")
    hook.close()

    summary = snapshot(warehouse, "locations", mark_deleted=True)

    assert summary["rows_marked_deleted"] == 1
    rows = warehouse.rows("smartarena_locations")
    gone = [r for r in rows if r["_deleted_at"] is not None]
    assert [r["mapping_code"] for r in gone] == ["loc-temporary"]
    assert_snapshot(warehouse, api, "locations", [r for r in rows if r["_deleted_at"] is None])


def test_courses_snapshot_pages_through_a_paginated_listing(warehouse: Warehouse, api: Any) -> None:
    api.set_faults(page_size=3)  # 10 courses: 4 pages, fetched concurrently
    summary = snapshot(warehouse, "courses", max_concurrency=3)
    assert summary["pages"] >= 4
    assert_snapshot(warehouse, api, "courses")


def test_snapshot_rejects_unknown_resources_and_deletion_with_filters() -> None:
    with pytest.raises(ValueError, match="resource must be one of"):
        SmartArenaToSqlOperator(task_id="x", resource="passwords")
    with pytest.raises(ValueError, match="mark_deleted cannot be combined with filters"):
        SmartArenaToSqlOperator(task_id="x", resource="courses", filters={"archived": 0}, mark_deleted=True)
