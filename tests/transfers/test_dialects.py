"""The upsert of every dialect against real databases: newest wins, keys stay unique, schema evolves."""

from __future__ import annotations

import datetime as dt
import uuid
from contextlib import closing
from typing import Any

import pytest

from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from airflow_provider_smartarena.transfers._dialects import PostgresDialect, get_dialect
from airflow_provider_smartarena.transfers._loader import SqlLoader, ensure_table
from airflow_provider_smartarena.transfers._schema import (
    DELETED_AT,
    EXTRACTED_AT,
    Column,
    TableSpec,
    check_identifier,
)
from tests.transfers.conftest import Warehouse, _check, _pg_connect, assert_same_table

UTC = dt.UTC
RUN = dt.datetime(2025, 6, 1, 12, 0, 0, 123456)


def spec(name: str, versioned: bool = True) -> TableSpec:
    columns = (
        Column("user_mapping_code", "text"),
        Column("course_mapping_code", "text"),
        Column("progress", "float"),
        Column("modules", "json"),
        Column("access_end_date", "date"),
        Column("updated_at", "datetime"),
        Column(EXTRACTED_AT, "timestamp"),
        Column(DELETED_AT, "timestamp"),
    )
    key = ("user_mapping_code", "course_mapping_code")
    return TableSpec(name, columns, key, "updated_at" if versioned else None)


def record(user: str, course: str, updated_at: str, progress: float) -> dict[str, Any]:
    return {
        "user_mapping_code": user,
        "course_mapping_code": course,
        "progress": progress,
        "modules": [{"id": 1, "progress": progress}],
        "access_end_date": "2025-12-31",
        "updated_at": updated_at,
    }


def load(warehouse: Warehouse, table: TableSpec, records: list[dict[str, Any]], dialect: str | None) -> None:
    with SqlLoader(
        warehouse.hook(), table, tz=UTC, extracted_at=RUN, batch_size=2, dialect=dialect
    ) as loader:
        for item in records:
            loader.add(item)
        loader.flush()


def progress_by_key(warehouse: Warehouse, table: str) -> dict[tuple[str, str], float]:
    rows = warehouse.query(f"SELECT user_mapping_code, course_mapping_code, progress FROM {table}")
    return {(r["user_mapping_code"], r["course_mapping_code"]): float(r["progress"]) for r in rows}


def dialects_for(warehouse: Warehouse) -> list[str | None]:
    choices: list[str | None] = [None, "staged"]
    if warehouse.kind == "postgres":
        with closing(_pg_connect()) as conn:
            if conn.info.server_version >= 150000:  # MERGE arrived in PostgreSQL 15
                choices.append("merge")
    return choices


def test_upsert_keeps_the_newest_row_in_every_dialect(warehouse: Warehouse) -> None:
    for dialect in dialects_for(warehouse):
        table = spec(warehouse.name(f"t_{dialect or 'native'}"))
        load(warehouse, table, [record("u1", "c1", "2025-01-02 10:00:00", 50)], dialect)
        load(
            warehouse,
            table,
            [
                record("u1", "c1", "2025-01-01 09:00:00", 10),  # older: must not overwrite
                record("u2", "c1", "2025-01-01 09:00:00", 20),  # new key
                record("u3", "c1", "2025-01-03 00:00:00", 30),
                record("u3", "c1", "2025-01-03 00:00:01", 31),  # same key twice in a batch: newest kept
                record("u3", "c1", "2025-01-02 00:00:00", 29),
            ],
            dialect,
        )
        assert progress_by_key(warehouse, table.name) == {
            ("u1", "c1"): 50,
            ("u2", "c1"): 20,
            ("u3", "c1"): 31,
        }, dialect
        load(
            warehouse,
            table,
            [record("u1", "c1", "2025-01-02 10:00:00", 55), record("u2", "c1", "2025-02-01 00:00:00", 25)],
            dialect,
        )  # an equal updated_at replaces (a re-read after a fix), a newer one too
        assert progress_by_key(warehouse, table.name) == {
            ("u1", "c1"): 55,
            ("u2", "c1"): 25,
            ("u3", "c1"): 31,
        }, dialect
        row = warehouse.query(f"SELECT * FROM {table.name} WHERE user_mapping_code = ?", ("u1",))[0]
        assert str(row["access_end_date"])[:10] == "2025-12-31"
        assert str(row["updated_at"])[:19] == "2025-01-02 10:00:00"
        assert str(row[EXTRACTED_AT])[:26] == "2025-06-01 12:00:00.123456"


def test_unversioned_upsert_always_takes_the_latest_write(warehouse: Warehouse) -> None:
    for dialect in dialects_for(warehouse):
        table = spec(warehouse.name(f"d_{dialect or 'native'}"), versioned=False)
        load(warehouse, table, [record("u1", "c1", "2025-01-02 10:00:00", 50)], dialect)
        load(warehouse, table, [record("u1", "c1", "2020-01-01 00:00:00", 10)], dialect)
        assert progress_by_key(warehouse, table.name) == {("u1", "c1"): 10}, dialect


def test_missing_columns_are_added_to_an_existing_table(warehouse: Warehouse) -> None:
    name = warehouse.name("evolving")
    # Exact keys, as any table the loader accepts must have (MariaDB's default collation ignores case).
    exact = " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin" if warehouse.kind == "mariadb" else ""
    warehouse.execute(
        f"CREATE TABLE {name} (user_mapping_code VARCHAR(255) NOT NULL, course_mapping_code VARCHAR(255) "
        "NOT NULL, progress DOUBLE PRECISION, PRIMARY KEY (user_mapping_code, course_mapping_code))" + exact
    )
    table = spec(name)
    with closing(warehouse.hook().get_conn()) as conn:
        changes = ensure_table(conn, get_dialect(warehouse.hook().dialect_name, "%s"), table)
    assert sorted(changes) == sorted(
        f"added {name}.{c}" for c in ("modules", "access_end_date", "updated_at", EXTRACTED_AT, DELETED_AT)
    )
    load(warehouse, table, [record("u1", "c1", "2025-01-02 10:00:00", 50)], None)
    assert progress_by_key(warehouse, name) == {("u1", "c1"): 50}


def test_the_operator_runs_on_the_generic_paths(warehouse: Warehouse, api: Any) -> None:
    for dialect in dialects_for(warehouse)[1:]:  # staged everywhere, merge where the database has it
        api.reset()
        operator = SmartArenaUserCoursesToSqlOperator(
            task_id="extract",
            sql_conn_id=warehouse.conn_id,
            table=warehouse.name(f"usercourses_{dialect}"),
            state_table=warehouse.name(f"state_{dialect}"),
            sql_dialect=dialect,
            batch_size=200,
        )
        operator.execute({})
        api.tick(changes=30)
        second = operator.execute({})
        assert second["records_read"] < 100, dialect
        rows = warehouse.rows(f"usercourses_{dialect}")
        truth = api.state("usercourses")
        assert_same_table(rows, truth, USER_COURSE_COLUMNS, ("user_mapping_code", "course_mapping_code"))


def test_psycopg2_uses_execute_values() -> None:
    """PostgresHook picks psycopg 3 when installed; psycopg2 connections take the execute_values path."""
    psycopg2 = pytest.importorskip("psycopg2")
    _check("PostgreSQL", _pg_connect)
    table = spec(f"psycopg2_check_{uuid.uuid4().hex[:10]}")
    dialect = PostgresDialect("%s")
    with closing(psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")) as conn:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table.name}")
        conn.commit()
        try:
            ensure_table(conn, dialect, table)
            newer = ("u1", "c1", 50.0, "[]", dt.date(2025, 1, 1), dt.datetime(2025, 1, 2), RUN, None)
            older = ("u1", "c1", 10.0, "[]", dt.date(2025, 1, 1), dt.datetime(2025, 1, 1), RUN, None)
            other = ("u2", "c1", 20.0, "[]", None, dt.datetime(2025, 1, 1), RUN, None)
            with conn.cursor() as cur:
                dialect.upsert(cur, table, [newer])
                dialect.upsert(cur, table, [older, other])
                cur.execute(f"SELECT user_mapping_code, progress FROM {table.name} ORDER BY 1")
                assert cur.fetchall() == [("u1", 50.0), ("u2", 20.0)]
        finally:
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table.name}")
            conn.commit()


@pytest.mark.parametrize("name", ["t; DROP TABLE x", "a.b.c.d", "1table", "", "t-1", "t name"])
def test_table_names_must_be_plain_identifiers(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        check_identifier(name)
    with pytest.raises(ValueError, match="not a plain identifier"):
        SmartArenaUserCoursesToSqlOperator(task_id="x", table=name)


def test_unknown_databases_get_the_staged_dialect() -> None:
    assert get_dialect("exotic", "?").name == "staged"
    assert get_dialect("postgresql+psycopg", "%s").name == "postgresql"
    assert get_dialect("snowflake", "%s").name == "snowflake"
    bigquery = get_dialect("bigquery", "%s")
    assert "NOT ENFORCED" in bigquery.create_table_sql(spec("d.t"))[0]
    assert "STRING" in bigquery.create_table_sql(spec("d.t"))[0]
