"""Everything that differs between SQL databases: column types, DDL and the upsert.

One class per way of upserting, chosen by the DbApiHook's ``dialect_name``:

* :class:`SqliteDialect`, :class:`PostgresDialect` — ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``;
* :class:`MySqlDialect` — ``INSERT ... ON DUPLICATE KEY UPDATE col = IF(newer, VALUES(col), col)``;
* :class:`StagedDialect` — any other database: rows go to a staging table, then
  ``DELETE`` the older target rows and ``INSERT`` the missing ones (plain SQL-92, e.g. Redshift);
* :class:`MergeDialect` — the same staging table, then one ``MERGE`` (Snowflake, BigQuery, SQL Server).

Every upsert keeps the newest row when the table has a version column (``updated_at``): an older
record never overwrites a newer one. None of them commits: the loader decides the transaction.
Identifiers are checked by :func:`~._schema.check_identifier` and the column names are the API's
lower-case field names, none a reserved word, so nothing is quoted (quoting would make names
case-sensitive on Snowflake and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from airflow_provider_smartarena.transfers._schema import Column, SqlType, TableSpec

Row = tuple[Any, ...]

_COMMON_TYPES: dict[str, str] = {
    "key": "VARCHAR(255)",
    "text": "VARCHAR(4000)",
    "int": "BIGINT",
    "float": "DOUBLE PRECISION",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "json": "VARCHAR(65535)",
    "timestamp": "TIMESTAMP",
}


def _iso_datetime(value: Any) -> Any:
    return value.isoformat(" ") if isinstance(value, dt.datetime) else value


class Dialect:
    """How one kind of database creates the tables and upserts rows (abstract)."""

    name: ClassVar[str] = "generic"
    #: SQL column type per column type (plus ``key`` for text key columns).
    types: dict[str, str] = _COMMON_TYPES
    #: Converters applied to Python values before they are bound, by column type.
    adapters: dict[str, Callable[[Any], Any]] = {}
    #: Dates and datetimes are stored as ISO text (the database has no date types).
    dates_as_text: bool = False

    def __init__(self, placeholder: str = "%s") -> None:
        self.placeholder = placeholder

    # ------------------------------------------------------------------ DDL

    def column_type(self, column: Column, *, key: bool) -> str:
        if key and column.type == "text":
            return self.types["key"]
        return self.types[column.type]

    def column_sql(self, spec: TableSpec, column: Column) -> str:
        is_key = column.name in spec.key
        return f"{column.name} {self.column_type(column, key=is_key)}" + (" NOT NULL" if is_key else "")

    def create_table_sql(self, spec: TableSpec) -> list[str]:
        columns = ", ".join(self.column_sql(spec, c) for c in spec.columns)
        return [f"CREATE TABLE {spec.name} ({columns}, PRIMARY KEY ({', '.join(spec.key)}))"]

    def add_column_sql(self, spec: TableSpec, column: Column) -> str:
        return f"ALTER TABLE {spec.name} ADD {self.column_sql(spec, column)}"

    def tables(self, spec: TableSpec) -> list[TableSpec]:
        """The tables an upsert into ``spec`` needs (the target, plus any staging table)."""
        return [spec]

    # ------------------------------------------------------------------ DML

    def _placeholders(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    def insert_sql(self, spec: TableSpec) -> str:
        cols = ", ".join(spec.column_names)
        return f"INSERT INTO {spec.name} ({cols}) VALUES ({self._placeholders(len(spec.columns))})"

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        """Insert ``rows``, or update the row with the same key unless it is newer. Not committed."""
        raise NotImplementedError

    def adapt(self, sql_type: SqlType) -> Callable[[Any], Any] | None:
        return self.adapters.get(sql_type)


class _OnConflictDialect(Dialect):
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE excluded.version >= t.version``."""

    def upsert_sql(self, spec: TableSpec, values: str | None = None) -> str:
        cols = ", ".join(spec.column_names)
        values = values or f"({self._placeholders(len(spec.columns))})"
        updates = ", ".join(f"{c} = excluded.{c}" for c in spec.column_names if c not in spec.key)
        # The alias lets the condition name the target row even when the table is schema-qualified.
        sql = (
            f"INSERT INTO {spec.name} AS t ({cols}) VALUES {values} "
            f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {updates}"
        )
        if spec.version:
            v = spec.version
            sql += f" WHERE t.{v} IS NULL OR excluded.{v} >= t.{v}"
        return sql

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        cursor.executemany(self.upsert_sql(spec), rows)


def _null(value: None) -> None:
    return None


def _bind_nulls_fast() -> None:
    """Give ``None`` an identity adapter in Python's sqlite3 module.

    Without one, sqlite3 binds every ``None`` through its adapter protocol, two failed attribute
    lookups each: with a dozen empty fields a row, that costs as much as the insert itself (14 vs
    6 µs a row measured). The adapter returns ``None``, so what is stored does not change.
    """
    import sqlite3

    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)


class SqliteDialect(_OnConflictDialect):
    """SQLite 3.24+ (``ON CONFLICT DO UPDATE``); dates and datetimes stored as sortable ISO text."""

    def __init__(self, placeholder: str = "%s") -> None:
        super().__init__(placeholder)
        _bind_nulls_fast()

    name = "sqlite"
    types = {
        "key": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
        "float": "REAL",
        "date": "TEXT",
        "datetime": "TEXT",
        "json": "TEXT",
        "timestamp": "TEXT",
    }
    # sqlite3's own datetime adapters are deprecated (Python 3.12); ISO text sorts and compares right.
    dates_as_text = True
    adapters = {"timestamp": _iso_datetime}


class PostgresDialect(_OnConflictDialect):
    """PostgreSQL 9.5+ with psycopg (v3, pipelined ``executemany``) or psycopg2 (``execute_values``)."""

    name = "postgresql"
    types = {**_COMMON_TYPES, "key": "TEXT", "text": "TEXT", "json": "TEXT"}

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        if type(cursor).__module__.startswith("psycopg2"):
            # psycopg2's executemany is one round trip per row; execute_values sends pages of rows.
            from psycopg2.extras import execute_values

            execute_values(cursor, self.upsert_sql(spec, values="%s"), rows, page_size=len(rows) or 1)
        else:
            cursor.executemany(self.upsert_sql(spec), rows)


class MySqlDialect(Dialect):
    """MySQL and MariaDB: ``ON DUPLICATE KEY UPDATE`` with a per-column newest-wins ``IF``."""

    name = "mysql"
    types = {
        **_COMMON_TYPES,
        "text": "TEXT",
        "float": "DOUBLE",
        "datetime": "DATETIME",
        "json": "LONGTEXT",
        "timestamp": "DATETIME(6)",
    }

    def upsert_sql(self, spec: TableSpec) -> str:
        others = [c for c in spec.column_names if c not in spec.key]
        if spec.version:
            v = spec.version
            # MySQL evaluates the assignments left to right and later ones see the new values, so
            # the version column, which the condition reads, is assigned last.
            others = [c for c in others if c != v] + [v]
            newer = f"{v} IS NULL OR VALUES({v}) >= {v}"
            updates = ", ".join(f"{c} = IF({newer}, VALUES({c}), {c})" for c in others)
        else:
            updates = ", ".join(f"{c} = VALUES({c})" for c in others)
        # VALUES(col) rather than a row alias: MariaDB has no row alias, MySQL 8 still accepts VALUES().
        return f"{self.insert_sql(spec)} ON DUPLICATE KEY UPDATE {updates}"

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        # mysql-connector-python and mysqlclient both rewrite this into multi-row INSERTs.
        cursor.executemany(self.upsert_sql(spec), rows)


class StagedDialect(Dialect):
    """Any SQL database: stage the batch, delete the target rows it supersedes, insert the rest.

    Needs nothing beyond SQL-92 (correlated ``EXISTS``), so it is the fallback for unknown
    databases, and the usual pattern on Redshift. All statements run in the loader's transaction.
    """

    name = "staged"

    @staticmethod
    def staging(spec: TableSpec) -> TableSpec:
        return TableSpec(f"{spec.name}__staging", spec.columns, spec.key, spec.version)

    def tables(self, spec: TableSpec) -> list[TableSpec]:
        return [spec, self.staging(spec)]

    @staticmethod
    def _match(spec: TableSpec, target: str, source: str) -> str:
        return " AND ".join(f"{source}.{k} = {target}.{k}" for k in spec.key)

    def _newer(self, spec: TableSpec, target: str, source: str) -> str:
        v = spec.version
        return f" AND ({target}.{v} IS NULL OR {source}.{v} >= {target}.{v})" if v else ""

    def _stage(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> TableSpec:
        stage = self.staging(spec)
        cursor.execute(f"DELETE FROM {stage.name}")
        cursor.executemany(self.insert_sql(stage), rows)
        return stage

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        stage = self._stage(cursor, spec, rows)
        # Correlated references use the table's own unqualified name, which every database exposes.
        target = spec.name.rsplit(".", 1)[-1]
        cols = ", ".join(spec.column_names)
        cursor.execute(
            f"DELETE FROM {spec.name} WHERE EXISTS (SELECT 1 FROM {stage.name} s "
            f"WHERE {self._match(spec, target, 's')}{self._newer(spec, target, 's')})"
        )
        cursor.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage.name} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} WHERE {self._match(spec, target, 's')})"
        )


class MergeDialect(StagedDialect):
    """Stage the batch, then one ``MERGE ... WHEN MATCHED AND newer`` (Snowflake, BigQuery, SQL Server)."""

    name = "merge"
    merge_terminator = ""

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        stage = self._stage(cursor, spec, rows)
        others = [c for c in spec.column_names if c not in spec.key]
        cursor.execute(
            f"MERGE INTO {spec.name} t USING {stage.name} s ON ({self._match(spec, 't', 's')}) "
            f"WHEN MATCHED{self._newer(spec, 't', 's')} THEN UPDATE SET "
            + ", ".join(f"{c} = s.{c}" for c in others)
            + f" WHEN NOT MATCHED THEN INSERT ({', '.join(spec.column_names)}) "
            f"VALUES ({', '.join('s.' + c for c in spec.column_names)}){self.merge_terminator}"
        )


class SnowflakeDialect(MergeDialect):
    name = "snowflake"
    types = {**_COMMON_TYPES, "text": "VARCHAR", "json": "VARCHAR", "timestamp": "TIMESTAMP_NTZ"}


class BigQueryDialect(MergeDialect):
    name = "bigquery"
    types = {
        "key": "STRING",
        "text": "STRING",
        "int": "INT64",
        "float": "FLOAT64",
        "date": "DATE",
        "datetime": "DATETIME",
        "json": "STRING",
        "timestamp": "DATETIME",
    }

    def create_table_sql(self, spec: TableSpec) -> list[str]:
        # BigQuery keys are informational only and must be declared NOT ENFORCED.
        columns = ", ".join(self.column_sql(spec, c) for c in spec.columns)
        return [f"CREATE TABLE {spec.name} ({columns}, PRIMARY KEY ({', '.join(spec.key)}) NOT ENFORCED)"]


class RedshiftDialect(StagedDialect):
    # Redshift's MERGE has no "WHEN MATCHED AND <condition>", so it keeps the delete + insert path.
    name = "redshift"
    types = {**_COMMON_TYPES, "text": "VARCHAR(65535)"}


class MsSqlDialect(MergeDialect):
    name = "mssql"
    types = {**_COMMON_TYPES, "text": "NVARCHAR(4000)", "json": "NVARCHAR(MAX)", "timestamp": "DATETIME2"}

    merge_terminator = ";"  # SQL Server requires MERGE to end with a semicolon


_BY_NAME: dict[str, type[Dialect]] = {
    "sqlite": SqliteDialect,
    "postgresql": PostgresDialect,
    "postgres": PostgresDialect,
    "mysql": MySqlDialect,
    "mariadb": MySqlDialect,
    "snowflake": SnowflakeDialect,
    "bigquery": BigQueryDialect,
    "redshift": RedshiftDialect,
    "mssql": MsSqlDialect,
    "staged": StagedDialect,
    "merge": MergeDialect,
}


def _lookup(name: str | None) -> type[Dialect] | None:
    return _BY_NAME.get((name or "").lower().split("+")[0])


def get_dialect(database: str, placeholder: str, method: str | None = None) -> Dialect:
    """The dialect of a DbApiHook's ``dialect_name``; unknown databases get the staged upsert.

    :param method: force another upsert (``"staged"``, ``"merge"``); column types and value
        adapters stay the database's own.
    """
    native = _lookup(database) or StagedDialect
    chosen = _lookup(method) if method else native
    if chosen is None:
        raise ValueError(f"unknown sql_dialect {method!r}; one of {', '.join(sorted(_BY_NAME))}")
    dialect = chosen(placeholder)
    dialect.types = native.types
    dialect.adapters = native.adapters
    dialect.dates_as_text = native.dates_as_text
    return dialect
