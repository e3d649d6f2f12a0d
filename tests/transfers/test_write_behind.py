"""Write-behind: batches committed on the loader's writer thread while the API is the slower side.

Each test checks what a user sees: the table equals the ground truth, a batch that fails in the
background fails the run without moving the watermark, and an error while a batch is in flight
is the one raised, with the connection closed and no thread left behind.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from contextlib import closing
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


def _loader(warehouse: Warehouse, *, batch_size: int = 5000, write_behind: bool = True) -> SqlLoader:
    from airflow.providers.common.compat.sdk import BaseHook

    columns = (Column("code", "text"), Column("n", "int"), Column("updated_at", "datetime"))
    table = TableSpec(
        warehouse.name("write_behind"),
        (*columns, Column(EXTRACTED_AT, "timestamp"), Column(DELETED_AT, "timestamp")),
        ("code",),
        "updated_at",
    )
    hook = BaseHook.get_connection(warehouse.conn_id).get_hook()
    return SqlLoader(
        hook,
        table,
        tz=dt.UTC,
        extracted_at=dt.datetime(2026, 1, 1),
        batch_size=batch_size,
        write_behind=write_behind,
    )


def _slow_commits(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every batch waits ``seconds`` before it is written, as on a busy server."""
    real_commit = SqlLoader._commit

    def slow_commit(self: SqlLoader, rows: Any, then: Any) -> None:
        time.sleep(seconds)
        real_commit(self, rows, then)

    monkeypatch.setattr(SqlLoader, "_commit", slow_commit)


def _records(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"code": f"k{i}", "n": i, "updated_at": "2026-01-01 00:00:00"} for i in range(start, start + count)
    ]


def test_a_loader_reads_a_batch_ahead_only_where_the_caller_writes_every_batch(
    warehouse: Warehouse,
) -> None:
    # SQLite writes in process (no writer thread): the requests go on while the caller writes.
    behind = _loader(warehouse, batch_size=1000)
    assert behind.read_ahead == (1000 if warehouse.kind == "sqlite" else 400)
    assert _loader(warehouse, batch_size=1000, write_behind=False).read_ahead == 1000


def test_an_error_while_a_batch_is_in_flight_is_the_one_raised(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    _slow_commits(monkeypatch, 0.3)
    loader = _loader(warehouse)

    def fail_while_in_flight() -> None:
        with loader:
            for record in _records(1000):  # a fifth of a batch goes to the idle writer
                loader.add(record)
            assert loader._in_flight
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
        assert loader._in_flight
        with pytest.raises(SmartArenaLoadError, match="k7"):
            loader.flush(then=lambda cursor: ran.append(True))
        assert loader.rows_written == 0
        assert not ran  # what only a complete load may write never ran


def _connection_id(connection: Any) -> int:
    with closing(connection.cursor()) as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return int(cur.fetchone()[0])


def test_a_server_bound_mysql_run_writes_two_batches_at_once_on_two_connections(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind != "mariadb":
        pytest.skip("the MySQL family's server works a connection's statements on one thread")
    real_commit = SqlLoader._commit
    commits: list[tuple[str, int, float, float]] = []

    def slow_commit(self: SqlLoader, rows: Any, then: Any) -> None:
        started = time.monotonic()
        time.sleep(0.2)  # the server's share of a batch, longer than the client's
        real_commit(self, rows, then)
        name = threading.current_thread().name
        commits.append((name, _connection_id(self._open()), started, time.monotonic()))

    monkeypatch.setattr(SqlLoader, "_commit", slow_commit)
    loader = _loader(warehouse, batch_size=100)
    with loader:
        main = _connection_id(loader.connection)
        for record in _records(1000):
            loader.add(record)
        loader.flush()
        assert loader.rows_written == 1000
    assert not _writers()
    assert loader._writer_connections == []

    behind = [c for c in commits if c[0].startswith(WRITER)]
    # Two writers: one on the run's connection, the other on a connection of its own.
    assert len({c[1] for c in behind}) == 2
    assert main in {c[1] for c in behind}
    overlapping = [(a, b) for a in behind for b in behind if a[1] != b[1] and a[2] < b[2] < a[3]]
    assert overlapping  # and their batches were in flight at once
    got = warehouse.query(f"SELECT code, n FROM {loader.spec.name}")
    assert sorted((r["code"], r["n"]) for r in got) == sorted((f"k{i}", i) for i in range(1000))
    open_now = warehouse.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID IN "
        f"({', '.join(str(c[1]) for c in commits)})"
    )
    assert open_now == [{"n": 0}]  # every connection of the run was closed


def test_batches_sharing_a_key_are_committed_in_the_order_they_arrived(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    # k0 twice with the same updated_at: the later record wins a tie, as with one writer. Were
    # the later batch committed first (its writer is quicker), the slow first batch would win.
    records = _records(10)
    records += [{"code": "k0", "n": 999, "updated_at": "2026-01-01 00:00:00"}, *_records(20)[10:]]
    real_commit = SqlLoader._commit

    def first_k0_slow(self: SqlLoader, rows: Any, then: Any) -> None:
        # Every write waits on the "server" (so full batches go behind too), the first k0's longest.
        time.sleep(0.6 if any(row[0] == "k0" and row[1] == 0 for row in rows) else 0.05)
        real_commit(self, rows, then)

    monkeypatch.setattr(SqlLoader, "_commit", first_k0_slow)
    loader = _loader(warehouse, batch_size=10)  # early batches of 2 rows while a writer is idle
    with loader:
        loader._server_bound = True  # as after a write that waited on the server: full batches too
        for record in records:
            loader.add(record)
        loader.flush()
    got = {r["code"]: r["n"] for r in warehouse.query(f"SELECT code, n FROM {loader.spec.name}")}
    assert got == {**{f"k{i}": i for i in range(20)}, "k0": 999}


def test_a_batch_chosen_as_a_deadlock_victim_is_written_again(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind != "mariadb":
        pytest.skip("the MySQL family's writers can deadlock each other")
    import mysql.connector.errors

    from airflow_provider_smartarena.transfers._dialects import MySqlDialect
    from airflow_provider_smartarena.transfers._loader import DEADLOCK_RETRIES

    real_upsert = MySqlDialect.upsert
    victims: list[int] = []

    def deadlocked(times: int) -> Any:
        def upsert(self: MySqlDialect, cursor: Any, spec: Any, rows: Any) -> None:
            real_upsert(self, cursor, spec, rows)  # written, then rolled back by the "server"
            if len(victims) < times:
                victims.append(len(rows))
                raise mysql.connector.errors.InternalError(
                    msg="Deadlock found when trying to get lock; try restarting transaction", errno=1213
                )

        return upsert

    monkeypatch.setattr(MySqlDialect, "upsert", deadlocked(2))
    with _loader(warehouse, write_behind=False) as loader:
        for record in _records(300):
            loader.add(record)
        loader.flush()
    assert victims == [300, 300]
    assert len(warehouse.query(f"SELECT code FROM {loader.spec.name}")) == 300

    victims.clear()
    monkeypatch.setattr(MySqlDialect, "upsert", deadlocked(DEADLOCK_RETRIES + 1))
    loader = _loader(warehouse, write_behind=False)
    with pytest.raises(mysql.connector.errors.InternalError, match="Deadlock"), loader:  # noqa: PT012
        for record in _records(300, start=300):
            loader.add(record)
        loader.flush()
    assert len(victims) == DEADLOCK_RETRIES + 1  # then it is the run's failure
    assert len(warehouse.query(f"SELECT code FROM {loader.spec.name}")) == 300  # nothing more


def test_a_writer_whose_connection_is_refused_leaves_one_writer_on_the_run_s_connection(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if warehouse.kind != "mariadb":
        pytest.skip("only the MySQL family has more than one writer")
    real_connect = SqlLoader._connect
    opened: list[bool] = []

    def connect(self: SqlLoader) -> Any:
        if opened:  # the run's own connection opens; the second writer's is refused
            raise RuntimeError("1203: User has already more than 'max_user_connections' active")
        opened.append(True)
        return real_connect(self)

    monkeypatch.setattr(SqlLoader, "_connect", connect)
    loader = _loader(warehouse, batch_size=100)
    with loader:
        loader._server_bound = True
        for record in _records(1000):
            loader.add(record)
        assert loader._writers == 1
        loader.flush()
    assert "1 writer(s) instead of 2: another connection was refused" in caplog.text
    got = warehouse.query(f"SELECT code, n FROM {loader.spec.name}")
    assert sorted((r["code"], r["n"]) for r in got) == sorted((f"k{i}", i) for i in range(1000))
    assert not _writers()


def test_a_busy_writer_is_looked_at_once_every_tenth_of_an_early_batch(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite writes in the caller's thread")
    _slow_commits(monkeypatch, 0.3)  # a busy writer while the caller queues the rest
    looks: list[int] = []
    real_idle = SqlLoader._writer_idle

    def counted_idle(self: SqlLoader) -> bool:
        looks.append(self.pending)
        return real_idle(self)

    monkeypatch.setattr(SqlLoader, "_writer_idle", counted_idle)
    loader = _loader(warehouse, batch_size=1000)  # early batches of 200 rows, a look every 20
    with loader:
        for record in _records(1000):
            loader.add(record)
        loader.flush()
        assert loader.rows_written == 1000
    # The first early batch went behind at 200; the writer stayed busy while 800 more rows came:
    # a look every 20 rows (not every row), each after the early batch's 200.
    assert looks[0] == 200
    assert 1 < len(looks) <= 1 + 800 // 20
    assert all(b - a == 20 for a, b in itertools.pairwise(looks[1:]))
    got = warehouse.query(f"SELECT code, n FROM {loader.spec.name}")
    assert sorted((r["code"], r["n"]) for r in got) == sorted((f"k{i}", i) for i in range(1000))
