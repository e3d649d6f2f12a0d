"""Extraction runs of one contender in its own process: ``python -m benchmarks.extract_worker NAME``.

The process imports what the contender needs, prints ``WORKER_READY``, then runs one extraction
per SQLite path read from stdin (the driver alternates the contenders' processes). Its own process
gives each contender clean CPU and memory figures; the kernel's peak-RSS mark is reset before each
run, so each run reports its own peak. The contenders:

* ``requests-loop``: ``benchmarks/extraction.py``'s baseline: a sequential ``requests`` paging
  loop collecting every row, then ``DbApiHook.insert_rows``.
* ``httphook-loop``: the same loop written with ``airflow.providers.http``'s ``HttpHook`` (what an
  ``HttpOperator`` does per page: a new session and a connection lookup per call).
* ``transfer-seq`` / ``transfer-conc``: :class:`SmartArenaUserCoursesToSqlOperator` with
  ``max_concurrency=1`` and with its default.
* ``fetch-conc``: the hook's paging alone at the transfer's default concurrency, no database: to
  tell the transfer's own cost from the hook's.
* ``fetch-typed``: the same paging, each page decoded into the transfer's typed records, as the
  transfer reads them: the reading within the transfer's CPU.
* ``bytes-conc``: every page read as bytes with ``http.client`` at the same concurrency, nothing
  parsed: what the server allows on this machine.
* ``dlt``: dlt's ``rest_api`` source (OAuth2 client credentials, page-number paginator) into the
  same kind of SQLite file through dlt's ``sqlalchemy`` destination (merge on the natural key).
* ``transfer-pg`` / ``transfer-mariadb``: ``transfer-conc`` into PostgreSQL and MariaDB on
  127.0.0.1 (the servers CI starts), each run into a new schema (database) dropped after it.
* ``dlt-pg``: ``dlt`` into the same PostgreSQL through dlt's native ``postgres`` destination.

Each run prints one ``RESULT {json}`` line: rows, wall and CPU seconds of the extraction alone
(imports done before), RSS before it and the peak RSS during it.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from benchmarks.harness import cpu_seconds, emit, peak_rss_mb, rss_now_mb
from benchmarks.servers import SERVERS

SQL_CONN_ID = "bench_sqlite"
HTTP_CONN_ID = "bench_http"
TOKEN_PATH = "oauth/access_token"
LIST_PATH = "api/usercourses"
JSON_COLUMNS = ("modules", "live_sessions")
NATURAL_KEY = ("user_mapping_code", "course_mapping_code")
READY = "WORKER_READY"


def default_concurrency() -> int:
    """The transfer's default ``max_concurrency`` (read from its signature, not copied)."""
    from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator

    parameter = inspect.signature(SmartArenaUserCoursesToSqlOperator.__init__).parameters["max_concurrency"]
    return int(parameter.default)


# ---------------------------------------------------------------------- contenders


def _requests_loop(ctx: argparse.Namespace) -> int:
    from benchmarks.extraction import _baseline

    return int(_baseline(ctx.url, ctx.client_id, ctx.client_secret, SQL_CONN_ID))


def _transfer(ctx: argparse.Namespace, concurrency: int) -> int:
    from benchmarks.extraction import _transfer as transfer

    return int(transfer(SQL_CONN_ID, concurrency))


#: The server each contender writes to (the others write SQLite files).
WAREHOUSE = {"transfer-pg": "postgres", "transfer-mariadb": "mariadb", "dlt-pg": "postgres"}


def _namespace(database: str) -> str:
    return "bench_" + "".join(c if c.isalnum() else "_" for c in Path(database).stem).lower()


def _admin(kind: str, sql: str) -> None:
    """Run one statement on a warehouse server as its administrator, committed."""
    from airflow.providers.common.compat.sdk import BaseHook

    os.environ["AIRFLOW_CONN_BENCH_ADMIN"] = json.dumps(SERVERS[kind])
    hook = BaseHook.get_connection("bench_admin").get_hook()
    with closing(hook.get_conn()) as conn, closing(conn.cursor()) as cur:
        cur.execute(sql)
        if cur.description:  # mysql-connector refuses to commit over an unread result
            cur.fetchall()
        conn.commit()


def _create_namespace(kind: str, database: str) -> None:
    _admin(kind, f"CREATE {'SCHEMA' if kind == 'postgres' else 'DATABASE'} {_namespace(database)}")


def _drop_namespace(kind: str, database: str) -> None:
    name = _namespace(database)
    _admin(kind, f"DROP SCHEMA {name} CASCADE" if kind == "postgres" else f"DROP DATABASE {name}")


def _transfer_into(ctx: argparse.Namespace) -> int:
    from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator

    namespace = _namespace(ctx.database)
    operator = SmartArenaUserCoursesToSqlOperator(
        task_id="bench",
        sql_conn_id=SQL_CONN_ID,
        table=f"{namespace}.usercourses",
        state_table=f"{namespace}.smartarena_extract_state",
        max_concurrency=default_concurrency(),
        outlets=[],
    )
    return int(operator.execute({})["rows_written"])


def _fetch_conc(ctx: argparse.Namespace) -> int:
    from benchmarks.extraction import _fetch

    return int(_fetch(default_concurrency()))


def _fetch_typed(ctx: argparse.Namespace) -> int:
    from benchmarks.extraction import _fetch

    return int(_fetch(default_concurrency(), typed=True))


def _bytes_conc(ctx: argparse.Namespace) -> int:
    """Every page as bytes at the transfer's concurrency, only page 1 parsed (for the page count):
    the least a client can do, so its time is what the server allows."""
    import http.client
    import threading
    import urllib.parse
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    form = urllib.parse.urlencode(
        {"client_id": ctx.client_id, "client_secret": ctx.client_secret, "grant_type": "client_credentials"}
    ).encode()
    with urllib.request.urlopen(f"{ctx.url}/{TOKEN_PATH}", data=form) as answer:
        headers = {"Authorization": f"Bearer {json.load(answer)['access_token']}"}
    where = urllib.parse.urlsplit(ctx.url)
    local, opened = threading.local(), []

    def get(page: int) -> bytes:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(where.hostname, where.port)
            opened.append(connection)
        connection.request("GET", f"/{LIST_PATH}?page={page}", headers=headers)
        return connection.getresponse().read()

    try:
        first = json.loads(get(1))
        with ThreadPoolExecutor(default_concurrency()) as pool:
            for _ in pool.map(get, range(2, int(first["last_page"]) + 1)):
                pass
    finally:
        for connection in opened:
            connection.close()
    return int(first["total"])


def _row(record: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(json.dumps(record.get(c)) if c in JSON_COLUMNS else record.get(c) for c in columns)


def _httphook_loop(ctx: argparse.Namespace) -> int:
    """Token, then page after page through ``HttpHook.run``, every row in a list, then insert_rows."""
    from airflow.providers.common.compat.sdk import BaseHook
    from airflow.providers.http.hooks.http import HttpHook

    from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS

    columns = list(USER_COURSE_COLUMNS)
    form = {
        "client_id": ctx.client_id,
        "client_secret": ctx.client_secret,
        "grant_type": "client_credentials",
    }
    token = (
        HttpHook(method="POST", http_conn_id=HTTP_CONN_ID).run(TOKEN_PATH, data=form).json()["access_token"]
    )
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    reader = HttpHook(method="GET", http_conn_id=HTTP_CONN_ID)
    rows: list[tuple[Any, ...]] = []
    page = 1
    while True:
        body = reader.run(LIST_PATH, data={"page": page}, headers=headers).json()
        rows.extend(_row(record, columns) for record in body["data"])
        if not body.get("next_page_url"):
            break
        page += 1
    sql = BaseHook.get_connection(SQL_CONN_ID).get_hook()
    sql.run(f"CREATE TABLE usercourses ({', '.join(columns)}, PRIMARY KEY ({', '.join(NATURAL_KEY)}))")
    sql.insert_rows("usercourses", rows, target_fields=columns, commit_every=1000, replace=True)
    return len(rows)


def dlt_config(url: str, client_id: str, client_secret: str) -> dict[str, Any]:
    """dlt ``rest_api`` configuration of the usercourses listing (Laravel paginator, OAuth2)."""
    return {
        "client": {
            "base_url": f"{url}/api/",
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": f"{url}/{TOKEN_PATH}",
                "client_id": client_id,
                "client_secret": client_secret,
            },
            # Laravel: pages start at 1, the envelope tells the page count in last_page.
            "paginator": {
                "type": "page_number",
                "base_page": 1,
                "page_param": "page",
                "total_path": "last_page",
            },
        },
        "resource_defaults": {"primary_key": list(NATURAL_KEY), "write_disposition": "merge"},
        "resources": [{"name": "usercourses", "endpoint": {"path": "usercourses", "data_selector": "data"}}],
    }


def _dlt(ctx: argparse.Namespace) -> int:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    # Nested lists (modules, live_sessions) stay JSON columns, as the other contenders store them.
    source = rest_api_source(dlt_config(ctx.url, ctx.client_id, ctx.client_secret), max_table_nesting=0)
    # A new pipeline (local state) per run: every run is a first load into a new database.
    run_name = Path(ctx.database).stem
    if ctx.contender == "dlt-pg":
        server = SERVERS["postgres"]
        destination = dlt.destinations.postgres(
            # The CI server trusts loopback connections; dlt insists on a password all the same.
            f"postgresql://{server['login']}:unused@{server['host']}:{server['port']}/{server['schema']}"
        )
        dataset = _namespace(ctx.database)  # dlt creates the schema itself
    else:
        destination = dlt.destinations.sqlalchemy(f"sqlite:///{ctx.database}")
        dataset = "main"  # the main database of the SQLite file, not an attached one
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{run_name}".replace("-", "_"),
        destination=destination,
        dataset_name=dataset,
        pipelines_dir=str(Path(ctx.workdir) / "dlt-pipelines" / run_name),
    )
    pipeline.run(source)
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name("usercourses")
        return int(client.execute_sql(f"SELECT COUNT(*) FROM {table}")[0][0])


CONTENDERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "requests-loop": _requests_loop,
    "httphook-loop": _httphook_loop,
    "transfer-seq": lambda ctx: _transfer(ctx, 1),
    "transfer-conc": lambda ctx: _transfer(ctx, default_concurrency()),
    "fetch-conc": _fetch_conc,
    "fetch-typed": _fetch_typed,
    "bytes-conc": _bytes_conc,
    "dlt": _dlt,
    "transfer-pg": _transfer_into,
    "transfer-mariadb": _transfer_into,
    "dlt-pg": _dlt,
}

#: The module each contender needs beyond the main environment.
NEEDS = {"httphook-loop": "airflow.providers.http", "dlt": "dlt", "dlt-pg": "dlt.destinations.impl.postgres"}


def missing(name: str) -> str | None:
    """Why a contender cannot run in this interpreter (None when it can)."""
    import importlib.util

    module = NEEDS.get(name)
    kind = WAREHOUSE.get(name)
    if kind is not None:
        try:
            _admin(kind, "SELECT 1")
        except Exception as exc:
            return f"{kind} on 127.0.0.1 is not reachable ({type(exc).__name__})"
    if module is None:
        return None
    try:
        found = importlib.util.find_spec(module) is not None
        if found and name == "dlt-pg":
            import psycopg2  # noqa: F401  (dlt's postgres destination)
    except ModuleNotFoundError:
        found = False
    return None if found else f"`{module}` is not installed (run `make bench`, which installs it)"


# ---------------------------------------------------------------------- the child


def _environment(ctx: argparse.Namespace) -> None:
    os.environ[f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"] = json.dumps({"conn_type": "http", "host": ctx.url})
    os.environ["AIRFLOW_CONN_SMARTARENA_DEFAULT"] = json.dumps(
        {"conn_type": "smartarena", "host": ctx.url, "login": ctx.client_id, "password": ctx.client_secret}
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DLT_DATA_DIR", str(Path(ctx.workdir) / "dlt-data"))


def _use_database(database: str, kind: str | None = None) -> None:
    conn = SERVERS[kind] if kind else {"conn_type": "sqlite", "host": database}
    os.environ[f"AIRFLOW_CONN_{SQL_CONN_ID.upper()}"] = json.dumps(conn)


def _preload(name: str, workdir: str) -> None:
    """Import (and warm) what the contender uses before any clock starts: timings are the
    extraction's alone, as in a task whose DAG file was parsed before it ran."""
    from airflow.providers.common.compat.sdk import BaseHook

    import airflow_provider_smartarena.transfers  # noqa: F401
    from benchmarks import extraction  # noqa: F401

    if name == "httphook-loop":
        import airflow.providers.http.hooks.http  # noqa: F401
    if name == "dlt":
        import dlt.destinations.impl.sqlalchemy.sqlalchemy_job_client
    if name == "dlt-pg":
        import dlt.destinations.impl.postgres.postgres
    if name in ("dlt", "dlt-pg"):
        import dlt.sources.rest_api  # noqa: F401
    # The first connection lookup loads the providers' connection types: a one-off, not per run.
    _use_database(str(Path(workdir) / "warm-up.db"), WAREHOUSE.get(name))
    BaseHook.get_connection(SQL_CONN_ID).get_hook().get_conn().close()


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux), so each run reports its own peak."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss_since_reset_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def measure(ctx: argparse.Namespace, database: str) -> dict[str, Any]:
    """One extraction into ``database``; the figures of this run alone."""
    kind = WAREHOUSE.get(ctx.contender)
    _use_database(database, kind)
    ctx.database = database
    if kind and ctx.contender != "dlt-pg":  # a new, empty namespace per run, made before the clock
        _create_namespace(kind, database)
    gc.collect()
    rss_before = rss_now_mb()
    per_run_peak = _reset_peak_rss()
    wall, cpu = time.perf_counter(), cpu_seconds()
    rows = CONTENDERS[ctx.contender](ctx)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    peak = _peak_rss_since_reset_mb() if per_run_peak else peak_rss_mb()
    if kind:
        _drop_namespace(kind, database)
    return {
        "contender": ctx.contender,
        "rows": rows,
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
    }


def serve(ctx: argparse.Namespace) -> None:
    """Print READY once loaded, then run one extraction per database path read from stdin."""
    _environment(ctx)
    logging.disable(logging.WARNING)
    _preload(ctx.contender, ctx.workdir)
    print(READY, flush=True)
    for line in sys.stdin:
        database = line.strip()
        if not database:
            break
        emit(measure(ctx, database))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--workdir", required=True)
    serve(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
