"""Benchmark: extracting user course activities into SQLite (not a test).

Compares, against the sandbox with a fixed latency per request:

* ``baseline`` — what a user writes without this provider: an ``HttpOperator``-style sequential
  paging loop with ``requests`` collecting every record, then ``DbApiHook.insert_rows``;
* ``transfer-1`` — :class:`SmartArenaUserCoursesToSqlOperator` fetching one page at a time;
* ``transfer-4`` (``-N``) — the same with ``max_concurrency=N`` (4 is the default);
* ``fetch-4`` (``-N``) — only the hook's paging, no database: what the server allows at that
  concurrency, to tell the transfer's own overhead from the server's speed.

Every measured run is a fresh process (so peak RSS is that run's) loading into a new SQLite file.
Reported: median wall time, ratios, the floor ``pages x latency / concurrency``, CPU time of the
extracting process per record (the sandbox runs in another process), and peak RSS.

    .venv/bin/python benchmarks/extraction.py                      # 20k and 100k records, 3 runs each
    .venv/bin/python benchmarks/extraction.py --records 20000 200000 --variants transfer-4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE_SIZE = 100
JSON_COLUMNS = ("modules", "live_sessions")


# ---------------------------------------------------------------------- workers (one run each)


def _baseline(url: str, client_id: str, client_secret: str, conn_id: str) -> int:
    """Sequential paging with requests, every row in a list, then insert_rows (the naive way)."""
    import requests
    from airflow.providers.common.compat.sdk import BaseHook

    from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS

    columns = list(USER_COURSE_COLUMNS)
    session = requests.Session()
    token = session.post(
        f"{url}/oauth/access_token",
        data={"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"},
        timeout=60,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    rows: list[tuple[Any, ...]] = []
    page = 1
    while True:
        response = session.get(f"{url}/api/usercourses", params={"page": page}, headers=headers, timeout=60)
        response.raise_for_status()
        body = response.json()
        records = body["data"] if isinstance(body, dict) else body
        if not records:
            break
        for record in records:
            rows.append(
                tuple(json.dumps(record.get(c)) if c in JSON_COLUMNS else record.get(c) for c in columns)
            )
        if isinstance(body, dict) and body.get("current_page", page) >= body.get("last_page", page):
            break
        page += 1
    hook = BaseHook.get_connection(conn_id).get_hook()
    key = "PRIMARY KEY (user_mapping_code, course_mapping_code)"
    hook.run(f"CREATE TABLE usercourses ({', '.join(columns)}, {key})")
    hook.insert_rows("usercourses", rows, target_fields=columns, commit_every=1000, replace=True)
    return len(rows)


def _transfer(conn_id: str, concurrency: int) -> int:
    from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator

    operator = SmartArenaUserCoursesToSqlOperator(
        task_id="bench", sql_conn_id=conn_id, max_concurrency=concurrency, outlets=[]
    )
    summary = operator.execute({})
    return int(summary["rows_written"])


def _fetch(concurrency: int, *, typed: bool = False) -> int:
    """Page through every usercourse, nothing stored; ``typed``: decoded into the transfer's own
    record type (one C pass a page), as the transfer reads them, else into dicts."""
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
    from airflow_provider_smartarena.transfers._schema import typed_record, user_courses_spec

    record_type = typed_record(user_courses_spec("usercourses"), raw_json=True)[0] if typed else None
    with SmartArenaHook() as hook:
        pages = hook.iter_user_course_pages(max_concurrency=concurrency, record_type=record_type)
        return sum(len(page.records) for page in pages)


def worker(args: argparse.Namespace) -> None:
    import logging

    logging.disable(logging.WARNING)
    database = Path(args.workdir) / f"{args.worker}.db"
    database.unlink(missing_ok=True)
    os.environ["AIRFLOW_CONN_BENCH_SQLITE"] = json.dumps({"conn_type": "sqlite", "host": str(database)})
    os.environ["AIRFLOW_CONN_SMARTARENA_DEFAULT"] = json.dumps(
        {"conn_type": "smartarena", "host": args.url, "login": args.client_id, "password": args.client_secret}
    )
    # Imports first, so that the timings are the extraction's alone.
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook  # noqa: F401

    import airflow_provider_smartarena.transfers  # noqa: F401

    if args.trace_memory:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    if args.worker == "baseline":
        rows = _baseline(args.url, args.client_id, args.client_secret, "bench_sqlite")
    elif args.worker.startswith("fetch-"):
        rows = _fetch(int(args.worker.split("-")[1]))
    else:
        rows = _transfer("bench_sqlite", int(args.worker.split("-")[1]))
    result = {
        "rows": rows,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # Python objects only (no allocator overhead): what the code itself holds at its peak.
        "peak_python_mb": tracemalloc.get_traced_memory()[1] / 2**20 if args.trace_memory else None,
    }
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------------- driver


def measure(sandbox: Any, variant: str, workdir: str, trace_memory: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        variant,
        "--url",
        sandbox.url,
        "--client-id",
        sandbox.client_id,
        "--client-secret",
        sandbox.client_secret,
        "--workdir",
        workdir,
        *(["--trace-memory"] if trace_memory else []),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def bench(
    records: int, variants: list[str], repeat: int, latency_ms: int, trace_memory: bool
) -> list[dict[str, Any]]:
    from airflow_provider_smartarena.sandbox.testing import run_sandbox

    courses = 50
    users = records // courses + 1  # one activity per (user, course) at most
    pages = -(-records // PAGE_SIZE)
    results = []
    with (
        tempfile.TemporaryDirectory() as workdir,
        run_sandbox(users=users, courses=courses, activities=records, page_size=PAGE_SIZE) as sandbox,
    ):
        sandbox.set_faults(latency_ms=latency_ms, envelope="laravel", page_size=PAGE_SIZE)
        for variant in variants:
            runs = [measure(sandbox, variant, workdir, trace_memory) for _ in range(repeat)]
            assert all(r["rows"] == records for r in runs), runs
            concurrency = 1 if variant == "baseline" else int(variant.split("-")[1])
            wall = statistics.median(r["wall"] for r in runs)
            results.append(
                {
                    "records": records,
                    "variant": variant,
                    "wall_s": wall,
                    "floor_s": pages * latency_ms / 1000 / concurrency,
                    "cpu_us_per_record": statistics.median(r["cpu"] for r in runs) / records * 1e6,
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                    "peak_python_mb": max(r["peak_python_mb"] or 0 for r in runs) or None,
                }
            )
            print(json.dumps(results[-1]), flush=True)
    return results


def _mb(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| records | variant | median wall (s) | floor (s) | wall / floor | speed-up vs baseline "
        "| CPU µs/record | peak RSS (MB) | peak Python heap (MB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = next(
            (b["wall_s"] for b in results if b["records"] == r["records"] and b["variant"] == "baseline"),
            None,
        )
        speedup = f"{base / r['wall_s']:.1f}x" if base else "-"
        lines.append(
            f"| {r['records']} | {r['variant']} | {r['wall_s']:.2f} | {r['floor_s']:.2f} | "
            f"{r['wall_s'] / r['floor_s']:.2f} | {speedup} | {r['cpu_us_per_record']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {_mb(r['peak_python_mb'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--variants", nargs="+", default=["baseline", "transfer-1", "transfer-4"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--trace-memory", action="store_true", help="also report the Python heap's peak (tracemalloc; slower)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    for hidden in ("--url", "--client-id", "--client-secret", "--workdir"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = []
    for records in args.records:
        results += bench(records, args.variants, args.repeat, args.latency_ms, args.trace_memory)
    print()
    print(f"Sandbox latency {args.latency_ms} ms per request, {PAGE_SIZE} records per page, SQLite target.")
    print(report(results))


if __name__ == "__main__":
    main()
