"""The transfer's write path alone, per warehouse: ``python -m benchmarks.warehouse_write``.

Builds ``--records`` usercourse rows once (no HTTP), then loads them with :class:`SqlLoader` into
SQLite, PostgreSQL and MariaDB (the servers CI starts, on 127.0.0.1), a first load into an empty
table and a second one over it (every row an update), and prints the wall and CPU seconds per
record of each. It tells what the database write costs next to reading the API, and compares a
change of the upsert before and after on the same machine in one run.

    python -m benchmarks.warehouse_write --records 20000 --warehouses sqlite,postgres,mariadb
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benchmarks.harness import cpu_seconds
from benchmarks.servers import SERVERS, private_namespace

WAREHOUSES = ("sqlite", "postgres", "mariadb")


def records(count: int, *, second: bool = False) -> list[dict[str, Any]]:
    """``count`` usercourse records shaped as the API sends them; ``second`` makes every one newer."""
    day = 2 if second else 1
    out = []
    for i in range(count):
        out.append(
            {
                "course_mapping_code": f"course-{i % 50:03d}",
                "course_title": f"Course {i % 50} — safety at work",
                "user_mapping_code": f"user-{i // 50:06d}",
                "user_name": "Ana",
                "user_surname": "Novak",
                "user_email": f"user{i // 50}@example.org",
                "organizational_unit_mapping_code": "ou-1",
                "location_mapping_code": None,
                "created_at": "2026-01-01 08:00:00",
                "updated_at": f"2026-02-0{day} 08:{i % 60:02d}:00",
                "date_start": "2026-01-02 09:00:00",
                "date_completed": None,
                "progress": 42.5,
                "score": None,
                "time_on_course": 3600 + i,
                "certificate_link": None,
                "statement_link": None,
                "parent_course_mapping_code": None,
                "status": 2,
                "access_end_date": "2026-12-31",
                "has_access": 1,
                "assessment_url": None,
                "live_sessions": [],
                "modules": [{"id": 1, "title": "Intro", "progress": 100}],
            }
        )
    return out


@contextmanager
def warehouse(kind: str, workdir: str) -> Iterator[str]:
    """A connection id of ``kind`` and a table name in a namespace of its own, dropped afterwards."""
    env = f"AIRFLOW_CONN_BENCH_{kind.upper()}"
    if kind == "sqlite":
        database = f"{workdir}/bench_{uuid.uuid4().hex[:10]}.db"  # a new file each time
        os.environ[env] = json.dumps({"conn_type": "sqlite", "host": database})
        yield "usercourses"
        return
    os.environ[env] = json.dumps(SERVERS[kind])
    with private_namespace(kind, "bench") as namespace:
        yield f"{namespace}.usercourses"


def load(kind: str, table: str, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Build and upsert ``rows`` through the loader; wall and CPU seconds of the whole load."""
    from airflow.providers.common.compat.sdk import BaseHook

    from airflow_provider_smartarena.transfers._loader import SqlLoader
    from airflow_provider_smartarena.transfers._schema import user_courses_spec

    hook = BaseHook.get_connection(f"bench_{kind}").get_hook()
    wall, cpu = time.perf_counter(), cpu_seconds()
    with SqlLoader(hook, user_courses_spec(table), tz=dt.UTC, extracted_at=dt.datetime.now(dt.UTC)) as loader:
        for start in range(0, len(rows), 100):  # pages of 100, as the API sends them
            for key, version, row in loader.builder.build_page(rows[start : start + 100]):
                loader.put(key, version, row)
        loader.flush()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": cpu_seconds() - cpu}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--warehouses", default=",".join(WAREHOUSES))
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args(argv)
    first, second = records(args.records), records(args.records, second=True)
    print("| warehouse | load | wall (s) | CPU (s) | CPU µs/record |\n|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="smartarena-write-") as workdir:
        for rep in range(args.reps):
            for kind in args.warehouses.split(","):
                with warehouse(kind, workdir) as table:
                    for label, rows in (("insert", first), ("update", second)):
                        got = load(kind, table, rows)
                        print(
                            f"| {kind} | {label} (rep {rep + 1}) | {got['wall_s']:.2f} | {got['cpu_s']:.2f} "
                            f"| {got['cpu_s'] / len(rows) * 1e6:.1f} |",
                            flush=True,
                        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
