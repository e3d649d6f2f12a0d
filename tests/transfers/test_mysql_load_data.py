"""MariaDB's bulk load: ``LOAD DATA LOCAL INFILE`` into a stage, and the literals when it is refused.

The load must write exactly what the multi-row literals write (field by field), keep the upsert's
semantics, and leave to the literals every batch it could not take exactly (a connection without
``local_infile``, a value the stage would have cut or changed with only a warning).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest

from airflow_provider_smartarena.transfers import _bulk_text
from airflow_provider_smartarena.transfers._bulk_text import (
    JSON_ROWS_FORMAT,
    TSV_FORMAT,
    NaiveDatetime,
    bulk_text,
    json_rows,
    row_type,
    write_load_data,
)
from airflow_provider_smartarena.transfers._dialects import LOAD_DATA_MIN_ROWS, MySqlDialect, get_dialect
from airflow_provider_smartarena.transfers._loader import SmartArenaLoadError, SqlLoader, ensure_table
from airflow_provider_smartarena.transfers._schema import TableSpec
from tests.transfers.conftest import Warehouse
from tests.transfers.test_bulk_write import (
    AWKWARD,
    CONTESTED_AFTER,
    CONTESTED_BEFORE,
    T0,
    contested_batch,
    progress,
    row,
)
from tests.transfers.test_dialects import spec

N = LOAD_DATA_MIN_ROWS + 20


class PartsFile(io.BytesIO):
    """A file that remembers its writes since it was last emptied: the parts as written."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return super().write(data)

    def truncate(self, size: int | None = None) -> int:
        assert size is None, "only emptied, never cut"
        assert self.tell() == 0, "only emptied, never cut"
        self.parts = []
        return super().truncate(size)


def load_data_text(rows: Any, rows_type: Any) -> tuple[list[bytes], str] | None:
    """What write_load_data writes: its parts and clause (None: the file is left empty)."""
    file = PartsFile()
    fields = write_load_data(file, rows, rows_type)
    assert b"".join(file.parts) == file.getvalue()
    if fields is None:
        assert file.getvalue() == b""
        return None
    return file.parts, fields


def dialect_fields(rows: Any) -> str | None:
    return MySqlDialect().write_load_data(PartsFile(), spec("t"), rows)


@pytest.fixture
def mariadb(warehouse: Warehouse) -> Warehouse:
    if warehouse.kind != "mariadb":
        pytest.skip("LOAD DATA LOCAL INFILE is the MySQL family's bulk load")
    return warehouse


@contextmanager
def opened(
    warehouse: Warehouse, table: TableSpec, *, local_infile: bool
) -> Iterator[tuple[Any, MySqlDialect]]:
    """A connection as the loader opens it (``local_infile``) or as the bare hook does."""
    hook = warehouse.hook()
    dialect = get_dialect(hook.dialect_name, hook.placeholder)
    assert isinstance(dialect, MySqlDialect)
    with closing(dialect.connect(hook) if local_infile else hook.get_conn()) as conn:
        hook.set_autocommit(conn, False)
        dialect.prepare(conn)
        ensure_table(conn, dialect, table)
        yield conn, dialect


def statements(cur: Any) -> dict[str, int]:
    cur.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Com_load', 'Com_insert', 'Com_insert_select')")
    return {str(name): int(value) for name, value in cur.fetchall()}


def upsert_counting(conn: Any, dialect: MySqlDialect, table: TableSpec, rows: list[Any]) -> dict[str, int]:
    """Upsert ``rows`` and commit; the statements it took by kind."""
    with closing(conn.cursor()) as cur:
        before = statements(cur)
        dialect.upsert(cur, table, rows)
        after = statements(cur)
    conn.commit()
    return {name: after[name] - before[name] for name in after}


def loaded_both_ways(
    mariadb: Warehouse, rows: list[Any], name: str, sql_mode: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``rows`` upserted into one table through LOAD DATA and into another as literals, with
    ``sql_mode`` added to the session's; each table's rows, in key order."""
    tables = {path: spec(mariadb.name(f"{name}_{path}")) for path in ("load", "literals")}
    for path, table in tables.items():
        with (
            opened(mariadb, table, local_infile=path == "load") as (conn, dialect),
            closing(conn.cursor()) as cur,
        ):
            cur.execute(f"SET SESSION sql_mode = CONCAT(@@sql_mode, ',{sql_mode}')")
            counts = upsert_counting(conn, dialect, table, rows)
            assert dialect.load_data is (path == "load")
            assert counts["Com_insert"] == (path == "literals")  # else loaded, then INSERT ... SELECT
            assert counts["Com_insert_select"] == (path == "load")
    order = "ORDER BY user_mapping_code, course_mapping_code"
    loaded, literal = (mariadb.query(f"SELECT * FROM {t.name} {order}") for t in tables.values())
    return loaded, literal


# ---------------------------------------------------------------------- the file's text


def test_the_text_escapes_what_ends_a_field_and_writes_null_as_backslash_n() -> None:
    rows = [
        ("plain", 1, 2.5, dt.date(2025, 1, 2), dt.datetime(2025, 1, 2, 3, 4, 5, 6), None),
        ("tab\there\nnew \\ line", None, None, None, None, None),
    ]
    assert bulk_text(rows) == (
        b"plain\t1\t2.5\t2025-01-02\t2025-01-02 03:04:05.000006\t\\N\n"
        b"tab\\there\\nnew \\\\ line\t\\N\t\\N\t\\N\t\\N\t\\N\n"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("back\\N slash", b"back\\\\N slash"),  # a value's own \N is not a NULL
        ("carriage\rreturn", b"carriage\\rreturn"),  # COPY would end the row at a bare CR
        ("\\", b"\\\\"),
        ("\t", b"\\t"),
    ],
)
def test_a_value_holding_a_separator_or_escape_is_escaped_beside_nulls(value: str, written: bytes) -> None:
    # The unescaped text is kept only when its tabs, newlines and backslashes are the layout's
    # own: a NULL's backslash in another column must not hide the value's.
    rows = [(value, None, 1), ("plain", None, 2)]
    assert bulk_text(rows) == written + b"\t\\N\t1\nplain\t\\N\t2\n"


def test_integers_of_any_size_and_constant_datetimes_are_written() -> None:
    stamp = dt.datetime(2026, 12, 7, 13, 0, 0, 5)
    rows = [(10**30, stamp, 1.5), (-(10**20), stamp, 2)]
    assert bulk_text(rows) == (
        b"1000000000000000000000000000000\t2026-12-07 13:00:00.000005\t1.5\n"
        b"-100000000000000000000\t2026-12-07 13:00:00.000005\t2\n"
    )


def test_the_text_writes_the_wall_clock_of_an_aware_datetime() -> None:
    aware = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert bulk_text([(aware,), (None,)]) == b"2025-01-02 03:04:05\n\\N\n"


@pytest.mark.parametrize("odd", [True, math.nan, math.inf, b"bytes", object()])
def test_a_column_of_values_not_written_here_leaves_the_batch_to_the_literals(odd: Any) -> None:
    assert bulk_text([("a", 1), ("b", odd)]) is None


# ---------------------------------------------------------------------- JSON rows

TEXT_ROW = row_type([str, str, float, int, NaiveDatetime])

#: Text JSON rows must carry exactly: what ends a field, a row or a quote there, and what looks
#: like a NULL.
JSON_TAKES = [
    *(text for text in AWKWARD if "\x1a" not in text),
    "a],[b",
    '"],["',
    '\\"',
    '"',
    'ends in a quote"',
    "ends in a backslash \\",
    "null",
    "NULL",
    "\\N",
    "",
    ",",
    '","',
    "tab\t newline\n cr\r backspace\b",
    "[[x]]",
    "\u2028 \x7f \u00e9",
]


def test_json_rows_are_one_json_array_read_as_quoted_fields() -> None:
    stamp = dt.datetime(2026, 12, 7, 13, 0, 0, 5)
    rows = [('a"b', None, 1.5, 2, stamp), ("c,null", "x", None, None, None)]
    assert json_rows(rows[:1], TEXT_ROW) == b'"a\\"b",\\N,1.5,2,"2026-12-07T13:00:00.000005"],['
    # Text holding ",null" would be taken for a NULL: such a batch is not written as JSON.
    assert json_rows(rows, TEXT_ROW) is None
    assert json_rows(rows[1:], row_type([str, str, float, int, NaiveDatetime])) is None


@pytest.mark.parametrize(
    "odd",
    [
        ("k", None, 1.0, True, None),  # a boolean is no int here: the servers spell them differently
        ("k", None, math.nan, 1, None),  # msgspec writes NaN as null
        ("k", None, math.inf, 1, None),
        ("k", None, 1.0, 1, dt.datetime(2025, 1, 2, tzinfo=dt.UTC)),  # an offset DATETIME cannot keep
        ("k", "form\ffeed", 1.0, 1, None),  # JSON's \f, which LOAD DATA reads as the letter f
        ("k", "nul \x00 and \x01", 1.0, 1, None),  # \u0000: read as the letters
        ("k", "C:\\users\\file", 1.0, 1, None),  # a backslash before u or f, to be safe
        ("k", dt.date(2025, 1, 2), 1.0, 1, None),  # not the column's type
        (None, None, 1.0, 1, None),  # NULL first: no comma before it
    ],
)
def test_json_rows_leave_what_they_cannot_write_exactly_to_the_tab_separated_text(odd: Any) -> None:
    rows = [("plain", None, 1.0, 1, None), odd]
    assert json_rows(rows, TEXT_ROW) is None
    written = load_data_text(rows, TEXT_ROW)
    if written is not None:  # the tab-separated text takes the rest or says it cannot
        assert written[1] == TSV_FORMAT
        assert b"".join(written[0]) == bulk_text(rows)


def test_a_batch_is_written_in_parts_in_one_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bulk_text, "PART_ROWS", 2)
    rows: list[tuple[Any, ...]] = [(f"k{i}", None, 1.0, i, None) for i in range(5)]
    parts, fields = load_data_text(rows, TEXT_ROW) or ([], "")
    assert fields == JSON_ROWS_FORMAT
    assert [part.count(b"],[") for part in parts] == [2, 2, 1]
    # One part JSON cannot write sends every part to the tab-separated text, read by one clause.
    rows[4] = ("k4", "form\ffeed", 1.0, 4, None)
    parts, fields = load_data_text(rows, TEXT_ROW) or ([], "")
    assert fields == TSV_FORMAT
    assert b"".join(parts) == bulk_text(rows)
    assert len(parts) == 3  # the JSON parts already written were dropped, the file started again


def test_a_batch_neither_format_writes_leaves_the_file_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_bulk_text, "PART_ROWS", 2)
    rows: list[tuple[Any, ...]] = [(f"k{i}", None, 1.0, i, None) for i in range(5)]
    rows[3] = ("k3", None, 1.0, True, None)  # a boolean: MySQL and MariaDB spell them differently
    assert load_data_text(rows, TEXT_ROW) is None


# ---------------------------------------------------------------------- on MariaDB


def test_json_rows_load_field_by_field_what_the_literals_write(
    mariadb: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_bulk_text, "PART_ROWS", 16)  # several parts, one file
    texts = JSON_TAKES
    rows = [
        (
            f"u{i}",
            texts[i % len(texts)],
            [None, 0.0, -1.5e-7, 1e300, 42.0, 3][i % 6],
            [None, texts[i % len(texts)], '{"a": [1, null, "],["]}'][i % 3],
            [None, "2025-12-31", "0001-01-01"][i % 3],  # dates as the API sends them (dates_as_text)
            f"2025-01-02 10:{i // 60 % 60:02}:{i % 60:02}",
            dt.datetime(2025, 6, 1, 12, 0, 0, 123456),
            None,
        )
        for i in range(N)
    ]
    assert dialect_fields(rows) == JSON_ROWS_FORMAT
    loaded, literal = loaded_both_ways(mariadb, rows, "json", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES")
    assert len(loaded) == N
    assert loaded == literal
    assert {r["course_mapping_code"] for r in loaded} == set(texts)
    assert {r["modules"] for r in loaded} == {None, *texts, '{"a": [1, null, "],["]}'}


def test_a_batch_is_loaded_into_a_stage_and_upserted_from_it(mariadb: Warehouse) -> None:
    table = spec(mariadb.name("loaded"))
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        first = [*CONTESTED_BEFORE, *(row(f"f{i}", "c1", T0, float(i)) for i in range(N))]
        assert upsert_counting(conn, dialect, table, first) == {
            "Com_load": 1,
            "Com_insert": 0,
            "Com_insert_select": 1,
        }
        batch = [*contested_batch(), *(row(f"n{i}", "c1", T0, 5.0) for i in range(N))]
        assert upsert_counting(conn, dialect, table, batch)["Com_load"] == 1
    got = progress(mariadb, table.name)
    assert len(got) == 4 + 2 * N
    assert {key: got[key] for key in CONTESTED_AFTER} == CONTESTED_AFTER


def test_the_load_writes_field_by_field_what_the_literals_write(mariadb: Warehouse) -> None:
    texts = [*AWKWARD, "nul \x00 inside", "", "\\N", "NULL", "tab at end\t", "\\"]
    rows = [
        (
            f"u{i}",
            texts[i % len(texts)],
            [None, 0.0, -1.5e-7, 1e300, 42.0][i % 5],
            [None, texts[i % len(texts)], '{"a": [1, 2]}'][i % 3],
            [None, dt.date(2025, 12, 31), dt.date(1, 1, 1)][i % 3],
            T0 + dt.timedelta(microseconds=i),
            dt.datetime(2025, 6, 1, 12, 0, 0, 123456),
            None,
        )
        for i in range(N)
    ]
    assert dialect_fields(rows) == TSV_FORMAT  # dates as objects
    # What a backslash means in a quoted literal depends on sql_mode: neither path may care.
    loaded, literal = loaded_both_ways(mariadb, rows, "via", "NO_BACKSLASH_ESCAPES")
    assert len(loaded) == N
    assert loaded == literal
    assert {r["course_mapping_code"] for r in loaded} == set(texts)


def test_a_connection_without_local_infile_writes_literals(mariadb: Warehouse) -> None:
    table = spec(mariadb.name("no_infile"))
    rows = [row(f"u{i}", "c1", T0, float(i)) for i in range(N)]
    with opened(mariadb, table, local_infile=False) as (conn, dialect):
        assert upsert_counting(conn, dialect, table, rows) == {
            "Com_load": 1,
            "Com_insert": 1,
            "Com_insert_select": 0,
        }
        assert dialect.load_data is False  # refused once: not tried again on this connection
        assert upsert_counting(conn, dialect, table, rows)["Com_load"] == 0
    assert len(progress(mariadb, table.name)) == N


class _ServerSays:
    """A DB-API connection whose server answers ``@@local_infile`` with ``local_infile``."""

    def __init__(self, local_infile: int) -> None:
        self.local_infile = local_infile
        self.result: list[tuple[Any, ...]] = []

    def cursor(self) -> _ServerSays:
        return self

    def execute(self, sql: str, *_: Any) -> None:
        self.result = [(self.local_infile, "10.11.19-MariaDB")] if "@@local_infile" in sql else []

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.result[0] if self.result else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.result

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("local_infile", "tried"), [(0, False), (1, None)])
def test_a_server_without_local_infile_is_not_asked(local_infile: int, tried: bool | None) -> None:
    dialect = MySqlDialect()
    dialect.prepare(_ServerSays(local_infile))
    assert dialect.load_data is tried  # False: every batch goes as literals, no stage, no file


def test_a_dialect_told_no_writes_literals(mariadb: Warehouse) -> None:
    table = spec(mariadb.name("server_off"))
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        dialect.load_data = False  # as prepare() leaves it on a server with local_infile=OFF
        rows = [row(f"u{i}", "c1", T0, float(i)) for i in range(N)]
        assert upsert_counting(conn, dialect, table, rows) == {
            "Com_load": 0,
            "Com_insert": 1,
            "Com_insert_select": 0,
        }
    assert len(progress(mariadb, table.name)) == N


def test_a_key_the_stage_would_cut_is_refused_by_the_literals_and_named(mariadb: Warehouse) -> None:
    # Under LOCAL the server cuts a key too long with only a warning: two long keys would merge.
    table = spec(mariadb.name("long_key"))
    long_key = "k" * 1000
    records = [row(f"u{i}", "c1", T0, float(i)) for i in range(N)] + [
        row(long_key + "a", "c1", T0, 1.0),
        row(long_key + "b", "c1", T0, 2.0),
    ]
    hook = mariadb.hook()
    refused = r"record \(user_mapping_code='kkk.*user_mapping_code"
    with (  # noqa: PT012
        pytest.raises(SmartArenaLoadError, match=refused),
        SqlLoader(hook, table, tz=dt.UTC, extracted_at=T0, batch_size=10_000) as loader,
    ):
        for values in records:
            loader.put(values[:2], values[5], values)
        loader.flush()
    assert mariadb.query(f"SELECT COUNT(*) AS n FROM {table.name}") == [{"n": 0}]


def test_a_target_with_columns_of_its_own_takes_the_load(mariadb: Warehouse) -> None:
    table = spec(mariadb.name("extra_load"))
    mariadb.execute(
        f"CREATE TABLE {table.name} (user_mapping_code VARCHAR(20) NOT NULL, course_mapping_code "
        "VARCHAR(20) NOT NULL, team_note VARCHAR(20) DEFAULT 'none' NOT NULL, "
        "PRIMARY KEY (user_mapping_code, course_mapping_code)) COLLATE utf8mb4_nopad_bin"
    )
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        rows = [row(f"u{i}", "c1", T0, float(i)) for i in range(N)]
        assert upsert_counting(conn, dialect, table, rows)["Com_load"] == 1
    notes = mariadb.query(f"SELECT DISTINCT team_note FROM {table.name}")
    assert notes == [{"team_note": "none"}]
    assert len(progress(mariadb, table.name)) == N


def test_the_load_commits_nothing_itself(mariadb: Warehouse) -> None:
    # The state row commits with the batch: no statement of the load may commit implicitly.
    table = spec(mariadb.name("rolled_back"))
    with opened(mariadb, table, local_infile=True) as (conn, dialect), closing(conn.cursor()) as cur:
        dialect.upsert(cur, table, [row(f"u{i}", "c1", T0, float(i)) for i in range(N)])
        assert dialect.load_data is True
        conn.rollback()
    assert progress(mariadb, table.name) == {}


def _indexes(warehouse: Warehouse, table: str) -> dict[str, list[str]]:
    schema, _, name = table.rpartition(".")
    got: dict[str, list[str]] = {}
    for found in warehouse.query(
        "SELECT index_name AS i, column_name AS c FROM information_schema.statistics "
        f"WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY index_name, seq_in_index"
    ):
        got.setdefault(str(found["i"]), []).append(str(found["c"]))
    return got


def test_tables_are_clustered_by_a_row_number_and_keyed_by_a_unique_index(mariadb: Warehouse) -> None:
    # Keys arrive in no order: a natural primary key (InnoDB's row order) made every batch rewrite
    # pages all over a large table; a growing row number appends, the UNIQUE key upserts the same.
    table = spec(mariadb.name("clustered"))
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        upsert_counting(
            conn, dialect, table, [*CONTESTED_BEFORE, *(row(f"f{i}", "c1", T0, 1.0) for i in range(N))]
        )
        upsert_counting(
            conn, dialect, table, [*contested_batch(), *(row(f"f{i}", "c1", T0, 2.0) for i in range(N))]
        )
    assert _indexes(mariadb, table.name) == {
        "PRIMARY": ["_row_id"],
        "smartarena_key": ["user_mapping_code", "course_mapping_code"],
    }
    got = progress(mariadb, table.name)
    assert len(got) == 4 + N  # the second batch updated by the unique key, it did not add rows
    assert {key: got[key] for key in CONTESTED_AFTER} == CONTESTED_AFTER
    assert all(got[(f"f{i}", "c1")] == 2.0 for i in range(N))


def test_a_table_keyed_by_its_primary_key_still_takes_upserts(mariadb: Warehouse) -> None:
    # As created before the row number (or by hand): the loader writes into it the same way.
    table = spec(mariadb.name("natural_key"))
    mariadb.execute(
        f"CREATE TABLE {table.name} (user_mapping_code VARCHAR(384) NOT NULL, course_mapping_code "
        "VARCHAR(384) NOT NULL, progress DOUBLE, modules LONGTEXT, access_end_date DATE, updated_at "
        "DATETIME, _extracted_at DATETIME(6), _deleted_at DATETIME(6), "
        "PRIMARY KEY (user_mapping_code, course_mapping_code)) COLLATE utf8mb4_nopad_bin"
    )
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        upsert_counting(
            conn, dialect, table, [*CONTESTED_BEFORE, *(row(f"f{i}", "c1", T0, 1.0) for i in range(N))]
        )
        assert upsert_counting(conn, dialect, table, contested_batch())["Com_insert"] == 1  # literals
    got = progress(mariadb, table.name)
    assert {key: got[key] for key in CONTESTED_AFTER} == CONTESTED_AFTER


def test_a_server_refusing_the_stage_engine_gets_a_stage_like_the_target(mariadb: Warehouse) -> None:
    table = spec(mariadb.name("engine_refused"))
    with opened(mariadb, table, local_infile=True) as (conn, dialect):
        assert dialect.stage_engine == "Aria"  # MariaDB's own non-transactional engine
        dialect.stage_engine = "NoSuchEngine"
        counts = upsert_counting(conn, dialect, table, [row(f"f{i}", "c1", T0, 3.0) for i in range(N)])
        assert counts["Com_load"] == 1
        assert dialect.stage_engine is None
    assert len(progress(mariadb, table.name)) == N
