"""The sync results table compares mapping codes exactly, like every table the provider creates."""

from __future__ import annotations

import pytest

from airflow_provider_smartarena.sync.results import DEFAULT_TABLE, write_results
from tests.transfers.conftest import Warehouse

AT = "2026-12-07 05:00:00"


def _row(code: str, status: str) -> tuple[object, ...]:
    return ("run-1", "user", code, 1, "update", status, None, None, AT)


@pytest.mark.parametrize("warehouse", ["mariadb", "sqlite", "postgres"], indirect=True)
def test_codes_differing_in_case_or_trailing_space_stay_distinct(warehouse: Warehouse) -> None:
    table = warehouse.name(DEFAULT_TABLE)
    rows = [_row("rt-ana", "updated"), _row("RT-ANA", "created"), _row("rt-ana ", "failed")]

    write_results(warehouse.conn_id, table, "run-1", rows)

    found = warehouse.query(f"SELECT mapping_code, status FROM {table} WHERE mapping_code = ?", ("rt-ana",))
    assert found == [{"mapping_code": "rt-ana", "status": "updated"}]
    upper = warehouse.query(f"SELECT status FROM {table} WHERE mapping_code = ?", ("RT-ANA",))
    assert upper == [{"status": "created"}]
