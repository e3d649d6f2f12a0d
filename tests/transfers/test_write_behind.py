"""Write-behind: batches committed on the loader's writer thread while the API is the slower side.

Each test checks what a user sees: the table equals the ground truth, a batch that fails in the
background fails the run without moving the watermark, and an error while a batch is in flight
is the one raised, with the connection closed and no thread left behind.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from airflow_provider_smartarena.transfers._loader import SmartArenaLoadError, SqlLoader
from airflow_provider_smartarena.transfers._schema import DELETED_AT, EXTRACTED_AT, Column, TableSpec
from tests.transfers.conftest import Warehouse
from tests.transfers.test_usercourses_to_sql import assert_ground_truth, make, run, stored_watermark

WRITER = "smartarena-writer"


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WRITER)]


def test_a_latency_bound_run_writes_behind_and_stores_the_ground_truth(
    warehouse: Warehouse, api: Any
) -> None:
    api.set_faults(latency_ms=20, page_size=20)  # 500 activities in 25 pages, each 20 ms away
    summary = run(warehouse, batch_size=100, max_concurrency=2)

    assert_ground_truth(warehouse, api)
    assert summary["rows_written"] == 500
    assert summary["new_watermark"] == stored_watermark(warehouse)
    if warehouse.kind == "sqlite":  # in process: never a second thread
        assert summary["batches"] == 5
    else:  # batches went early (from 20 rows) while the writer was idle and pages were awaited
        assert summary["batches"] > 5
    assert not _writers()


class WriterCrashError(RuntimeError):
    pass


def test_a_batch_failing_in_the_background_fails_the_run_and_keeps_the_watermark(
    warehouse: Warehouse, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    api.set_faults(latency_ms=20, page_size=20)
    real_commit = SqlLoader._commit
    seen: list[str] = []

    def commit(self: SqlLoader, rows: Any, then: Any) -> None:
        seen.append(threading.current_thread().name)
        if threading.current_thread().name.startswith(WRITER) and seen.count(seen[-1]) == 2:
            raise WriterCrashError("connection lost in the background")
        real_commit(self, rows, then)

    monkeypatch.setattr(SqlLoader, "_commit", commit)
    with pytest.raises(WriterCrashError):
        make(warehouse, batch_size=100, max_concurrency=2).execute({})
    assert any(name.startswith(WRITER) for name in seen)
    assert stored_watermark(warehouse) is None  # the state is written only with a complete load
    assert not _writers()

    monkeypatch.setattr(SqlLoader, "_commit", real_commit)
    run(warehouse, batch_size=100)  # the retry
    assert_ground_truth(warehouse, api)


def _loader(warehouse: Warehouse) -> SqlLoader:
    from airflow.providers.common.compat.sdk import BaseHook

    columns = (Column("code", "text"), Column("n", "int"), Column("updated_at", "datetime"))
    table = TableSpec(
        warehouse.name("write_behind"),
        (*columns, Column(EXTRACTED_AT, "timestamp"), Column(DELETED_AT, "timestamp")),
        ("code",),
        "updated_at",
    )
    hook = BaseHook.get_connection(warehouse.conn_id).get_hook()
    return SqlLoader(hook, table, tz=dt.UTC, extracted_at=dt.datetime(2026, 1, 1), write_behind=True)


def _records(count: int) -> list[dict[str, Any]]:
    return [{"code": f"k{i}", "n": i, "updated_at": "2026-01-01 00:00:00"} for i in range(count)]


def test_an_error_while_a_batch_is_in_flight_is_the_one_raised(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    real_commit = SqlLoader._commit

    def slow_commit(self: SqlLoader, rows: Any, then: Any) -> None:
        time.sleep(0.3)
        real_commit(self, rows, then)

    monkeypatch.setattr(SqlLoader, "_commit", slow_commit)
    loader = _loader(warehouse)

    def fail_while_in_flight() -> None:
        with loader:
            for record in _records(1000):  # a fifth of a batch goes to the idle writer
                loader.add(record)
            assert loader._in_flight is not None
            raise KeyError("the caller's own error")

    with pytest.raises(KeyError, match="the caller's own error"):
        fail_while_in_flight()
    assert loader._connection is None
    assert not _writers()


def test_a_refused_row_in_a_background_batch_is_named_at_the_next_flush(warehouse: Warehouse) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    records = _records(1000)
    records[7]["n"] = 2**70  # beyond BIGINT on both servers
    ran: list[bool] = []
    with _loader(warehouse) as loader:
        for record in records:
            loader.add(record)
        assert loader._in_flight is not None
        with pytest.raises(SmartArenaLoadError, match="k7"):
            loader.flush(then=lambda cursor: ran.append(True))
        assert loader.rows_written == 0
        assert not ran  # what only a complete load may write never ran
