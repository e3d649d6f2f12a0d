"""The optional results table of a user sync: one row per record per run, on any common-sql connection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, BaseHook

DEFAULT_TABLE = "smartarena_sync_results"
COLUMNS = (
    "run_id",
    "resource",
    "mapping_code",
    "source_row",
    "action",
    "status",
    "changed_fields",
    "message",
    "at",
)
# Portable types only (SQLite, PostgreSQL, MySQL/MariaDB and the warehouses common-sql reaches);
# `at` is UTC, written as 'YYYY-MM-DD HH:MM:SS' text that every one of them casts to TIMESTAMP.
_CREATE = """CREATE TABLE IF NOT EXISTS {table} (
    run_id VARCHAR(250) NOT NULL,
    resource VARCHAR(32) NOT NULL,
    mapping_code VARCHAR(255),
    source_row INTEGER,
    action VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    changed_fields VARCHAR(1000),
    message TEXT,
    at TIMESTAMP NOT NULL
)"""
# Only plain (optionally schema-qualified) names: the name is formatted into SQL text.
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def check_table_name(table: str) -> str:
    if not _TABLE_NAME.match(table or ""):
        raise AirflowException(
            f"results_table: {table!r} is not a plain table name (letters, digits, _; schema.table)"
        )
    return table


def write_results(conn_id: str, table: str, run_id: str, rows: Sequence[Sequence[Any]]) -> None:
    """Replace this run's rows in ``table`` (created if missing) with ``rows`` (in :data:`COLUMNS` order).

    An Airflow retry of the same run replaces the rows of the earlier try, so the table holds one row
    per record per run: the latest outcome.

    :param conn_id: a common-sql connection.
    :param table: the table, plain or schema-qualified.
    :param run_id: the Airflow run whose rows are replaced.
    :param rows: the rows, in :data:`COLUMNS` order.
    """
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    from airflow_provider_smartarena.transfers._dialects import get_dialect

    table = check_table_name(table)
    hook = BaseHook.get_connection(conn_id).get_hook()
    if not isinstance(hook, DbApiHook):
        raise AirflowException(f"results_conn_id {conn_id!r} is not a SQL connection ({type(hook).__name__})")
    # Codes that differ only in case or trailing spaces are other users: on MySQL-family servers
    # the table takes the transfers' binary NO PAD collation, so a lookup by code finds only its own.
    dialect = get_dialect(hook.dialect_name, hook.placeholder)
    with closing(hook.get_conn()) as connection:
        dialect.prepare(connection)
    hook.run(_CREATE.format(table=table) + dialect.table_options())
    hook.run(f"DELETE FROM {table} WHERE run_id = {hook.placeholder}", parameters=(run_id,))
    if rows:
        hook.insert_rows(table, rows, target_fields=list(COLUMNS), commit_every=1000)


__all__ = ["COLUMNS", "DEFAULT_TABLE", "check_table_name", "write_results"]
