"""The warehouse servers CI starts on 127.0.0.1 (PostgreSQL and MariaDB, database ``test``).

Shared by the benchmarks and the transfer tests (``tests/transfers/conftest.py``): the servers as
Airflow connections, a direct administrator connection (no Airflow), and a private namespace to
write into, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

#: The servers as Airflow connections (``json.dumps`` one into an ``AIRFLOW_CONN_*`` variable).
SERVERS: dict[str, dict[str, Any]] = {
    "postgres": {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "login": "postgres",
        "schema": "test",
    },
    "mariadb": {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "login": "root",
        "password": "",
        "schema": "test",
        "extra": {"client": "mysql-connector-python"},
    },
}


def connect(kind: str, **kw: Any) -> Any:
    """A DB-API connection to the server ``kind`` as its administrator, giving up after 5 s.

    :param kind: ``postgres`` or ``mariadb``.
    :param kw: more arguments of the driver's ``connect`` (e.g. ``autocommit=True``).
    """
    server = SERVERS[kind]
    if kind == "postgres":
        import psycopg

        return psycopg.connect(
            host=server["host"],
            port=server["port"],
            user=server["login"],
            dbname=server["schema"],
            connect_timeout=5,
            **kw,
        )
    import mysql.connector

    return mysql.connector.connect(
        host=server["host"],
        port=server["port"],
        user=server["login"],
        password=server["password"],
        connection_timeout=5,
        **kw,
    )


def _run(kind: str, sql: str) -> None:
    with closing(connect(kind, autocommit=True)) as conn, closing(conn.cursor()) as cur:
        cur.execute(sql)


@contextmanager
def private_namespace(kind: str, prefix: str) -> Iterator[str]:
    """A new, empty schema (PostgreSQL) or database (MariaDB) named ``<prefix>_<random>``, dropped
    with everything in it on exit: tables named ``<namespace>.<table>`` never meet another run's."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    created = f"SCHEMA {name}" if kind == "postgres" else f"DATABASE {name}"
    _run(kind, f"CREATE {created}")
    try:
        yield name
    finally:
        _run(kind, f"DROP {created}" + (" CASCADE" if kind == "postgres" else ""))
