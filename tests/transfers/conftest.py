"""SQL targets for the transfer tests: SQLite in a temporary file, PostgreSQL and MariaDB for real.

``warehouse`` is parametrized over the three databases. Each test gets its own empty namespace (a
new SQLite file, a new PostgreSQL schema, a new MariaDB database) that is dropped afterwards, so
tests never see each other's tables. PostgreSQL and MariaDB tests skip when the server is not
reachable, except under ``CI=true`` where they fail instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer
from benchmarks.servers import SERVERS, connect, private_namespace

IN_CI = os.environ.get("CI", "").lower() == "true"
_reachable: dict[str, str | None] = {}


def _check(name: str, connect: Callable[[], Any]) -> None:
    """Skip (or fail under CI=true) when the server ``name`` cannot be reached."""
    if name not in _reachable:
        try:
            connect().close()
            _reachable[name] = None
        except Exception as exc:
            _reachable[name] = f"{type(exc).__name__}: {exc}"
    problem = _reachable[name]
    if problem:
        message = f"{name} is not reachable ({problem})"
        if IN_CI:
            pytest.fail(message + " and CI=true: database tests must not skip")
        pytest.skip(message)


def _pg_connect(**kw: Any) -> Any:
    return connect("postgres", **kw)


def _maria_connect(**kw: Any) -> Any:
    return connect("mariadb", **kw)


@dataclass
class Warehouse:
    """A connection id of a real database and a private namespace inside it."""

    kind: str
    conn_id: str
    namespace: str | None  # schema (PostgreSQL) or database (MariaDB) prefix; None for SQLite

    def name(self, table: str) -> str:
        return f"{self.namespace}.{table}" if self.namespace else table

    def hook(self) -> Any:
        from airflow.providers.common.compat.sdk import BaseHook

        return BaseHook.get_connection(self.conn_id).get_hook()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Run ``sql`` and return the rows as dicts (column names in lower case)."""
        with closing(self.hook().get_conn()) as conn, closing(conn.cursor()) as cur:
            if "?" in sql and self.kind != "sqlite":
                sql = sql.replace("?", "%s")
            cur.execute(sql, params)
            names = [d[0].lower() for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str) -> None:
        with closing(self.hook().get_conn()) as conn, closing(conn.cursor()) as cur:
            cur.execute(sql)
            conn.commit()

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.query(f"SELECT * FROM {self.name(table)}")

    def state(self, state_table: str = "smartarena_extract_state") -> list[dict[str, Any]]:
        try:
            return self.query(f"SELECT * FROM {self.name(state_table)}")
        except Exception:
            return []


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Warehouse]:
    kind = request.param
    conn_id = f"warehouse_{kind}"
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    if kind == "sqlite":
        monkeypatch.setenv(env, json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}))
        yield Warehouse(kind, conn_id, None)
        return
    if kind == "postgres":
        _check("PostgreSQL", _pg_connect)
    else:
        _check("MariaDB", _maria_connect)
    monkeypatch.setenv(env, json.dumps(SERVERS[kind]))
    with private_namespace(kind, "sa") as namespace:
        yield Warehouse(kind, conn_id, namespace)


@pytest.fixture
def api(fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """A freshly seeded sandbox, reachable as the ``smartarena_default`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    return fresh_sandbox


# ---------------------------------------------------------------------- comparing with ground truth


def normalize(sql_type: str, value: Any) -> Any:
    """One value, from the API or from any of the databases, in a comparable form."""
    if value is None:
        return None
    if sql_type in ("datetime", "timestamp"):
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return str(value)[:19]
    if sql_type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
    if sql_type == "int":
        return int(value)
    if sql_type == "float":
        return float(value)
    if sql_type == "json":
        return json.loads(value) if isinstance(value, str) else value
    return str(value)


def as_table(
    records: list[dict[str, Any]], columns: Mapping[str, str], key: tuple[str, ...]
) -> dict[Any, Any]:
    """Records keyed by their natural key, every documented column normalized."""
    return {
        tuple(str(r[k]) for k in key): {c: normalize(t, r.get(c)) for c, t in columns.items()}
        for r in records
    }


def assert_same_table(
    actual: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    columns: Mapping[str, str],
    key: tuple[str, ...],
) -> None:
    """Whole-table comparison, field by field (not counts)."""
    got = as_table(actual, columns, key)
    want = as_table(expected, columns, key)
    assert len(actual) == len(got), "duplicate keys in the table"
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing, f"{len(missing)} rows missing, e.g. {missing[:5]}"
    assert not extra, f"{len(extra)} rows too many, e.g. {extra[:5]}"
    differences = [(k, c, got[k][c], want[k][c]) for k in want for c in columns if got[k][c] != want[k][c]]
    assert not differences, f"{len(differences)} differing fields, e.g. {differences[:5]}"
