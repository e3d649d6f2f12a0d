"""The bulk upserts (PostgreSQL COPY into a stage, MySQL-family multi-row literals) on real databases.

A batch must reach the server as one bulk write, not one statement a row, and keep what the
row-by-row upsert did: newest ``updated_at`` wins, of equal versions the later row, text exact.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest

from airflow_provider_smartarena.transfers._bulk import UniqueRows, chunks, mysql_values, newest_per_key
from airflow_provider_smartarena.transfers._dialects import Dialect, get_dialect
from airflow_provider_smartarena.transfers._loader import SqlLoader, ensure_table
from airflow_provider_smartarena.transfers._schema import TableSpec
from tests.transfers.conftest import Warehouse
from tests.transfers.test_dialects import RUN, spec

T0 = dt.datetime(2025, 1, 2, 10, 0, 0)


def row(
    user: str, course: str, updated_at: dt.datetime, progress: float, modules: str = "[]"
) -> tuple[Any, ...]:
    # The spec's column order: keys, progress, modules, access_end_date, updated_at, bookkeeping.
    return (user, course, progress, modules, dt.date(2025, 12, 31), updated_at, RUN, None)


@contextmanager
def opened(warehouse: Warehouse, table: TableSpec) -> Iterator[tuple[Any, Dialect]]:
    hook = warehouse.hook()
    dialect = get_dialect(hook.dialect_name, hook.placeholder)
    with closing(hook.get_conn()) as conn:
        if getattr(hook, "supports_autocommit", False):
            hook.set_autocommit(conn, False)
        dialect.prepare(conn)
        ensure_table(conn, dialect, table)
        yield conn, dialect


def progress(warehouse: Warehouse, table: str) -> dict[tuple[str, str], float]:
    rows = warehouse.query(f"SELECT user_mapping_code, course_mapping_code, progress FROM {table}")
    return {(r["user_mapping_code"], r["course_mapping_code"]): r["progress"] for r in rows}


def test_a_batch_reaches_the_server_as_one_bulk_write(warehouse: Warehouse) -> None:
    if warehouse.kind == "sqlite":
        pytest.skip("SQLite runs in process: executemany has no round trips to save")
    table = spec(warehouse.name("bulk"))
    rows = [row(f"u{i}", "c1", T0, float(i % 100)) for i in range(500)]
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        if warehouse.kind == "postgres":
            if type(conn).__module__.startswith("psycopg2"):
                pytest.skip("psycopg2 (the Airflow 2.11 lane) writes with execute_values, no COPY stage")
            dialect.upsert(cur, table, rows)
            # The rows went through the session's temporary stage (COPY), not one INSERT each.
            cur.execute(
                "SELECT sum(n_tup_ins) FROM pg_stat_xact_user_tables WHERE relname LIKE 'smartarena_stage_%'"
            )
            assert cur.fetchone()[0] == 500
        else:
            cur.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            before = int(cur.fetchone()[1])
            dialect.upsert(cur, table, rows)
            cur.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            assert int(cur.fetchone()[1]) - before == 1  # one statement for 500 rows
        conn.commit()
    assert len(progress(warehouse, table.name)) == 500


#: What the table holds before :func:`contested_batch` (u1 and u2), and what it holds after.
CONTESTED_BEFORE = [row("u1", "c1", T0, 10), row("u2", "c1", T0, 20)]
CONTESTED_AFTER = {("u1", "c1"): 11, ("u2", "c1"): 20, ("u3", "c1"): 31, ("u4", "c1"): 40}


def contested_batch() -> list[tuple[Any, ...]]:
    """A batch whose keys repeat, and meet rows of the table older and newer than theirs."""
    later = T0 + dt.timedelta(hours=1)
    return [
        row("u1", "c1", later, 11),  # newer than the table: wins over the older duplicate after it
        row("u1", "c1", T0, 12),
        row("u2", "c1", T0 - dt.timedelta(days=1), 21),  # older than the table: never written
        row("u3", "c1", T0, 30),  # equal versions: the later row, as row by row
        row("u3", "c1", T0, 31),
        row("u4", "c1", T0, 40),
    ]


def test_duplicates_in_one_upsert_keep_the_newest_and_of_equals_the_later(warehouse: Warehouse) -> None:
    table = spec(warehouse.name("dups"))
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        dialect.upsert(cur, table, CONTESTED_BEFORE)
        conn.commit()
        dialect.upsert(cur, table, contested_batch())
        conn.commit()
    assert progress(warehouse, table.name) == CONTESTED_AFTER


AWKWARD = [
    'it\'s "quoted"',
    "back\\slash \\' \\\\",
    "ctrl-z \x1a, tab\t, newline\n, cr\r",
    "percent %s %(name)s %%",
    "emoji \U0001f600 and José",
    "'); DROP TABLE x; --",
]


def test_text_round_trips_exactly_through_multi_row_literals(warehouse: Warehouse) -> None:
    table = spec(warehouse.name("awkward"))
    rows = [row(f"u{i}", text, T0, 1.5, modules=text) for i, text in enumerate(AWKWARD)]
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        if warehouse.kind == "mariadb":
            # What a backslash means depends on the session's sql_mode: hex literals do not care.
            cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
        dialect.upsert(cur, table, rows)
        conn.commit()
    stored = warehouse.query(f"SELECT user_mapping_code, course_mapping_code, modules FROM {table.name}")
    assert sorted((r["course_mapping_code"], r["modules"]) for r in stored) == sorted((t, t) for t in AWKWARD)


def test_a_batch_larger_than_max_allowed_packet_is_cut_into_statements(warehouse: Warehouse) -> None:
    if warehouse.kind != "mariadb":
        pytest.skip("max_allowed_packet is the MySQL family's limit")
    with closing(warehouse.hook().get_conn()) as conn, closing(conn.cursor()) as cur:
        cur.execute("SELECT @@max_allowed_packet")
        packet = int(cur.fetchone()[0])
    table = spec(warehouse.name("big"))
    big = "[" + "1," * (packet // 20) + "1]"  # a tenth of a packet of JSON a row
    rows = [row(f"u{i}", "c1", T0, float(i), modules=big) for i in range(15)]  # 1.5 packets
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        dialect.upsert(cur, table, rows)
        conn.commit()
    assert len(progress(warehouse, table.name)) == 15
    lengths = warehouse.query(f"SELECT LENGTH(modules) AS n FROM {table.name}")
    assert {r["n"] for r in lengths} == {len(big)}


def test_values_of_other_types_are_left_to_the_driver(warehouse: Warehouse) -> None:
    if warehouse.kind != "mariadb":
        pytest.skip("only the MySQL-family upsert writes literals itself")
    table = spec(warehouse.name("decimals"))
    rows = [
        row("u1", "c1", T0, 1.0),
        (*row("u2", "c1", T0, 0)[:2], decimal.Decimal("2.5"), *row("u2", "c1", T0, 0)[3:]),
    ]
    assert mysql_values(rows) is None
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        dialect.upsert(cur, table, rows)
        conn.commit()
    assert progress(warehouse, table.name) == {("u1", "c1"): 1.0, ("u2", "c1"): 2.5}


def test_chunks_cut_by_size_and_count_and_keep_every_row() -> None:
    rows = [("x" * 90,)] * 10  # about 100 characters of repr each
    assert [len(part) for part in chunks(rows, max_bytes=350, max_rows=100)] == [3, 3, 3, 1]
    assert [len(part) for part in chunks(rows, max_bytes=10**6, max_rows=4)] == [4, 4, 2]
    assert [len(part) for part in chunks([("y" * 1000,)], max_bytes=10, max_rows=5)] == [1]
    assert list(chunks([], max_bytes=10, max_rows=5)) == []


def test_a_target_with_columns_of_its_own_takes_the_bulk_upsert(warehouse: Warehouse) -> None:
    # A column a team added, NOT NULL with a default: the stage must not demand it.
    table = spec(warehouse.name("extra"))
    with opened(warehouse, table) as (conn, _):
        with closing(conn.cursor()) as cur:
            cur.execute(f"ALTER TABLE {table.name} ADD team_note VARCHAR(20) DEFAULT 'none' NOT NULL")
        conn.commit()
    with opened(warehouse, table) as (conn, dialect), closing(conn.cursor()) as cur:
        dialect.upsert(cur, table, [row("u1", "c1", T0, 1.0), row("u2", "c1", T0, 2.0)])
        conn.commit()
    notes = warehouse.query(f"SELECT team_note FROM {table.name}")
    assert [r["team_note"] for r in notes] == ["none", "none"]


def test_the_loader_s_batches_skip_the_key_check_and_what_is_cut_from_them_does_not() -> None:
    table = spec("t")
    batch = UniqueRows([row("u1", "c1", T0, 1), row("u2", "c1", T0, 2)])
    assert newest_per_key(table, batch) is batch  # one row per key already: not hashed again
    repeated = [row("u1", "c1", T0, 1), row("u1", "c1", T0, 2)]
    assert newest_per_key(table, UniqueRows(repeated)[:2]) == [repeated[1]]  # a slice is checked


def test_keys_that_cleaning_makes_equal_are_collapsed_before_the_batch_is_written_again(
    warehouse: Warehouse,
) -> None:
    if warehouse.kind != "postgres":
        pytest.skip("only PostgreSQL strips what it cannot store (NUL) and writes the batch again")
    table = spec(warehouse.name("nul_keys"))
    later = T0 + dt.timedelta(hours=1)
    loader = SqlLoader(warehouse.hook(), table, tz=dt.UTC, extracted_at=RUN, batch_size=10)
    with loader:
        # Two keys in the loader's batch, one once NUL is stripped: PostgreSQL would refuse
        # ON CONFLICT on one key twice in one command.
        loader.put(("u\x001", "c1"), later, row("u\x001", "c1", later, 1))
        loader.put(("u1", "c1"), T0, row("u1", "c1", T0, 2))
        loader.flush()
    assert progress(warehouse, table.name) == {("u1", "c1"): 1}  # the newer one
