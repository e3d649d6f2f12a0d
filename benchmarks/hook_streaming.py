"""Benchmark: stream user-course activities with SmartArenaHook vs a bare ``requests`` loop.

    .venv/bin/python benchmarks/hook_streaming.py                      # 100k activities, 3 reps (~3 min)
    .venv/bin/python benchmarks/hook_streaming.py --activities 20000 --reps 5 --modules

What it measures, against one sandbox started for the run (``run_sandbox``):

* time: the hook (``iter_pages(USER_COURSES)``, what ``iter_user_courses`` runs) and a bare
  loop over the very same pages (one ``requests.Session``, the same query, ``json.loads`` of the
  body, every record touched), run alternately ``--reps`` times; medians of wall-clock and of
  this process's CPU time, and their ratios. Wall-clock includes the server (on the same
  machine), so the CPU ratio shows the hook's own cost best.
* memory: a fresh subprocess streams the last ``--small`` records (``start_page``), another all
  ``--activities``; each reports its peak RSS (``ru_maxrss``, which Airflow's import dominates)
  and the highest RSS sampled after every page. Neither should grow with the number of records:
  the hook holds one page at a time.
* tokens: ``/_sandbox/stats`` token requests during each hook run (expected: exactly 1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

CONN_ENV = "AIRFLOW_CONN_SMARTARENA_BENCH"


def hook_stream(modules: bool, max_concurrency: int = 1) -> int:
    """Stream with the hook; return the number of records."""
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
    from airflow_provider_smartarena.resources import USER_COURSES

    count = 0
    with SmartArenaHook("smartarena_bench") as hook:
        pages = hook.iter_pages(USER_COURSES, max_concurrency=max_concurrency, modules_data=int(modules))
        for page in pages:
            for _record in page.records:
                count += 1
    return count


def bare_stream(url: str, client_id: str, client_secret: str, modules: bool) -> int:
    """The same pages with nothing but requests: token, then page after page until next_page_url is null."""
    count = 0
    with requests.Session() as session:
        form = {"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"}
        token = json.loads(session.post(f"{url}/oauth/access_token", data=form, timeout=60).content)[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        page = 1
        while True:
            response = session.get(
                f"{url}/api/usercourses",
                params={"modules_data": int(modules), "page": page},
                headers=headers,
                timeout=60,
            )
            response.raise_for_status()
            body = json.loads(response.content)
            for _record in body["data"]:
                count += 1
            if not body.get("next_page_url"):
                return count
            page += 1


def _timed(func: Callable[[], int]) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    count = func()
    return count, time.perf_counter() - wall, time.process_time() - cpu


def _child_rss(start_page: int, modules: bool) -> dict[str, Any]:
    """Peak RSS of a fresh interpreter streaming from ``start_page`` to the end."""
    argv = [sys.executable, __file__, "--child", str(start_page)] + (["--modules"] if modules else [])
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=os.environ.copy())
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _vm_rss_kb() -> int:
    """Current resident set size in KiB (Linux), sampled while streaming."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _child_main(start_page: int, modules: bool) -> None:
    # Import first, so the baseline includes Airflow and the provider, as in a task.
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
    from airflow_provider_smartarena.resources import USER_COURSES

    before = _vm_rss_kb()
    highest, count = before, 0
    if start_page > 0:
        with SmartArenaHook("smartarena_bench") as hook:
            for page in hook.iter_pages(USER_COURSES, start_page=start_page, modules_data=int(modules)):
                count += len(page.records)
                highest = max(highest, _vm_rss_kb())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": count, "rss_before_kb": before, "rss_max_kb": highest, "peak_kb": peak}))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from airflow_provider_smartarena.sandbox.testing import run_sandbox

    if args.activities % args.page_size or args.small % args.page_size:
        raise SystemExit("--activities and --small must be multiples of --page-size")
    sizes = {"activities": args.activities, "users": max(50, args.activities // 20), "courses": 200}
    latency_ms = getattr(args, "latency_ms", 0)
    with run_sandbox(page_size=args.page_size, latency_ms=latency_ms, **sizes) as sandbox:
        os.environ[CONN_ENV] = sandbox.connection_json()
        hook_runs: list[tuple[float, float]] = []
        bare_runs: list[tuple[float, float]] = []
        tokens: list[int] = []

        def hook_once(concurrency: int = 1) -> tuple[int, float, float]:
            sandbox.reset_stats()
            result = _timed(lambda: hook_stream(args.modules, concurrency))
            tokens.append(sandbox.stats()["token_requests"])
            return result

        def bare_once() -> tuple[int, float, float]:
            return _timed(
                lambda: bare_stream(sandbox.url, sandbox.client_id, sandbox.client_secret, args.modules)
            )

        hook_once()  # warm-up: imports, the server's caches, TCP
        bare_once()
        tokens.clear()
        for rep in range(args.reps):
            order = (hook_once, bare_once) if rep % 2 == 0 else (bare_once, hook_once)
            for func in order:
                count, wall, cpu = func()
                if count != args.activities:
                    raise SystemExit(f"streamed {count} records, expected {args.activities}")
                (hook_runs if func is hook_once else bare_runs).append((wall, cpu))
        concurrent = hook_once(args.concurrency) if args.concurrency > 1 else None

        last_page = args.activities // args.page_size
        small_start = last_page - args.small // args.page_size + 1
        rss = None
        if not args.no_rss:
            rss = {
                "baseline": _child_rss(0, args.modules),
                "small": _child_rss(small_start, args.modules),
                "large": _child_rss(1, args.modules),
            }

    def median(runs: list[tuple[float, float]], index: int) -> float:
        return statistics.median(r[index] for r in runs)

    def paired(index: int) -> float:
        # Each rep ran the two back to back, so their ratio cancels most of the machine's drift.
        return statistics.median(h[index] / b[index] for h, b in zip(hook_runs, bare_runs, strict=True))

    return {
        "activities": args.activities,
        "latency_ms": latency_ms,
        "page_size": args.page_size,
        "reps": args.reps,
        "hook_runs": hook_runs,
        "bare_runs": bare_runs,
        "modules": args.modules,
        "hook_wall": median(hook_runs, 0),
        "bare_wall": median(bare_runs, 0),
        "hook_cpu": median(hook_runs, 1),
        "bare_cpu": median(bare_runs, 1),
        "wall_ratio": paired(0),
        "cpu_ratio": paired(1),
        "best_wall_ratio": min(r[0] for r in hook_runs) / min(r[0] for r in bare_runs),
        "concurrent_wall": concurrent[1] if concurrent else None,
        "tokens": tokens,
        "rss": rss,
    }


def _row(label: str, records: int, wall: float, cpu: float) -> str:
    return f"{label:28}{wall:>10.2f}{records / wall:>12.0f}{cpu:>14.2f}"


def report(result: dict[str, Any], concurrency: int) -> str:
    wall_ratio, cpu_ratio, best = result["wall_ratio"], result["cpu_ratio"], result["best_wall_ratio"]
    n = result["activities"]
    lines = [
        f"Streaming {n} activities, {result['page_size']} a page, modules_data={int(result['modules'])}, "
        f"{result.get('latency_ms', 0)} ms latency, "
        f"median of {result['reps']} alternating reps",
        "",
        f"{'':28}{'wall s':>10}{'records/s':>12}{'client CPU s':>14}",
        _row("bare requests loop", n, result["bare_wall"], result["bare_cpu"]),
        _row("SmartArenaHook", n, result["hook_wall"], result["hook_cpu"]),
    ]
    if result["concurrent_wall"]:
        wall = result["concurrent_wall"]
        label = f"hook, concurrency={concurrency}, 1 run"
        lines.append(f"{label:28}{wall:>10.2f}{n / wall:>12.0f}{'':>14}")
    lines += [
        "",
        f"hook overhead, median of the {result['reps']} paired hook/bare ratios: "
        f"wall {100 * (wall_ratio - 1):+.1f}%, client CPU {100 * (cpu_ratio - 1):+.1f}%",
        f"hook overhead, best run vs best run: wall {100 * (best - 1):+.1f}%",
    ]
    if result["rss"]:
        lines += ["", *_rss_lines(result["rss"])]
    lines += [
        "",
        f"token requests per hook run: {sorted(set(result['tokens']))} over {len(result['tokens'])} runs",
    ]
    return "\n".join(lines)


def _rss_lines(rss: dict[str, Any]) -> list[str]:
    mb = 1024.0  # KiB -> MiB
    small, large = rss["small"], rss["large"]

    def row(label: str, run: dict[str, Any]) -> str:
        grown = (run["rss_max_kb"] - run["rss_before_kb"]) / mb
        peak, highest = run["peak_kb"] / mb, run["rss_max_kb"] / mb
        return f"{label:28}{run['records']:>10}{peak:>12.1f}{highest:>14.1f}{grown:>+12.1f}"

    return [
        f"{'memory (fresh process)':28}{'records':>10}{'peak RSS':>12}{'max RSS in':>14}{'growth in':>12}",
        f"{'':28}{'':>10}{'MB':>12}{'stream, MB':>14}{'stream, MB':>12}",
        row("imports only", rss["baseline"]),
        row("stream the last part", small),
        row("stream everything", large),
        f"peak RSS, {small['records']} vs {large['records']} records: "
        f"{(large['peak_kb'] - small['peak_kb']) / mb:+.1f} MB; "
        f"max RSS while streaming: {(large['rss_max_kb'] - small['rss_max_kb']) / mb:+.1f} MB",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000, help="records of the smaller memory run")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per request")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=int, default=4, help="also time the hook with this many pages at once"
    )
    parser.add_argument("--modules", action="store_true", help="include course modules (modules_data=1)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child_main(args.child, args.modules)
        return 0
    result = run(args)
    print(report(result, args.concurrency))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
