"""Benchmark: a first load through Laravel's throttle, in one task run (issue 18 #3; not a test).

Starts the sandbox with ``--throttle LIMIT/WINDOW`` (429 + ``Retry-After`` past the limit, and
``X-RateLimit-Limit`` / ``X-RateLimit-Remaining`` on every answer) and Laravel's default page of 15,
runs :class:`SmartArenaUserCoursesToSqlOperator` once into a new SQLite file, and reports the wall
time against what the throttle allows: ``R`` requests at ``LIMIT`` a window need at least
``(ceil(R / LIMIT) - 1) x WINDOW`` seconds. The load must complete (every activity, equal to the
ground truth) in one run, in about that time.

    .venv/bin/python benchmarks/throttled_first_load.py                     # 5,000 at 60/60 (~5.5 min)
    .venv/bin/python benchmarks/throttled_first_load.py --activities 600 --throttle 10/1   # a quick check
    .venv/bin/python benchmarks/throttled_first_load.py --page-size 25      # 200 requests, 3 windows' wait
    .venv/bin/python benchmarks/throttled_first_load.py --max-requests-per-minute 60      # pace by extra
    .venv/bin/python benchmarks/throttled_first_load.py --no-learned-pacing # only Retry-After, for contrast

The hook waits what ``Retry-After`` asks within its cap and paces by the ``X-RateLimit-*`` headers
(or the ``max_requests_per_minute`` extra); a hook that cannot makes this run fail, and the script
says so with the error (exit 1). ``--no-learned-pacing`` hides the ``X-RateLimit-*`` headers from
the hook's pacer (a benchmark-only patch), so the run shows what pacing buys over answering 429s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Laravel's default ``paginate()`` page: what a tenant that ignores ``per_page`` sends.
LARAVEL_PAGE = 15
#: The hook's ``rate_limit_window`` default: Laravel's ``throttle:60,1`` counts a minute.
DEFAULT_WINDOW = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=5000, help="activities to seed and load")
    parser.add_argument("--throttle", default="60/60", help="the sandbox's throttle, LIMIT/WINDOW seconds")
    parser.add_argument(
        "--page-size", type=int, default=LARAVEL_PAGE, help="records per page the server sends"
    )
    parser.add_argument(
        "--max-requests-per-minute",
        type=float,
        default=None,
        help="set the connection extra max_requests_per_minute (default: leave the hook to learn the pace)",
    )
    parser.add_argument(
        "--max-retry-wait",
        type=float,
        default=None,
        help="set the connection extra max_retry_wait (the longest Retry-After waited; default 120 s)",
    )
    parser.add_argument(
        "--no-learned-pacing",
        action="store_true",
        help="hide X-RateLimit-* headers from the pacer: only Retry-After waits (for contrast)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    limit, _, window = args.throttle.partition("/")
    if not (limit.isdigit() and window.isdigit() and int(limit) > 0 and int(window) > 0):
        parser.error("--throttle must look like LIMIT/WINDOW, e.g. 60/60")
    if args.activities < 1 or args.page_size < 1:
        parser.error("--activities and --page-size must be at least 1")
    args.limit, args.window = int(limit), int(window)
    return args


def allowed_seconds(requests: int, limit: int, window: int) -> float:
    """The least time ``requests`` take through a fixed window of ``limit`` a ``window`` seconds."""
    return max(0, math.ceil(requests / limit) - 1) * window


def _unlearn_pacing() -> None:
    """Make the hook's pacer blind to ``X-RateLimit-*``: it still holds for a 429's ``Retry-After``."""
    from airflow_provider_smartarena.hooks import _pacer

    learn = _pacer.Pacer.observe

    def observe(self: _pacer.Pacer, headers: Any, retry_after: float | None = None) -> None:
        learn(self, {}, retry_after)

    _pacer.Pacer.observe = observe  # type: ignore[method-assign]


def _tell_the_window(window: int) -> None:
    """Give every hook the sandbox's window as ``rate_limit_window`` (the operators take the default).

    The headers do not say the window; the hook assumes Laravel's minute. At a full-size run's 60 s
    this changes nothing. A quick check's window of a second would otherwise be paced as a minute.
    """
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

    init = getattr(SmartArenaHook.__init__, "_bench_original", SmartArenaHook.__init__)
    if window == DEFAULT_WINDOW:
        SmartArenaHook.__init__ = init  # type: ignore[method-assign]
        return

    def told(self: SmartArenaHook, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rate_limit_window", float(window))
        init(self, *args, **kwargs)

    told._bench_original = init  # type: ignore[attr-defined]
    told._bench_window = window  # type: ignore[attr-defined]
    SmartArenaHook.__init__ = told  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="sa-throttle-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home / "airflow"))
    from airflow_provider_smartarena.sandbox.testing import run_sandbox
    from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator

    # Activities are at most one per user and course: enough of both for the count asked.
    courses = 20
    users = max(50, math.ceil(args.activities / courses) + 1)
    extras: dict[str, Any] = {}
    if args.max_requests_per_minute is not None:
        extras["max_requests_per_minute"] = args.max_requests_per_minute
    if args.max_retry_wait is not None:
        # The extra's real name: an unknown extra is ignored, so a misspelt one measures the default.
        extras["max_retry_wait"] = args.max_retry_wait
    if args.no_learned_pacing:
        _unlearn_pacing()
    _tell_the_window(args.window)
    with run_sandbox(
        users=users,
        courses=courses,
        activities=args.activities,
        page_size=args.page_size,
        throttle=args.throttle,
    ) as server:
        os.environ["AIRFLOW_CONN_SMARTARENA_DEFAULT"] = server.connection_json(**extras)
        os.environ["AIRFLOW_CONN_THROTTLE_BENCH_DB"] = json.dumps(
            {"conn_type": "sqlite", "host": str(home / "warehouse.db")}
        )
        server.reset_stats()
        operator = SmartArenaUserCoursesToSqlOperator(
            task_id="first_load", sql_conn_id="throttle_bench_db", table="usercourses"
        )
        started = time.perf_counter()
        error = None
        summary: dict[str, Any] = {}
        try:
            summary = operator.execute({})
        except Exception as exc:  # the figure is the outcome, whichever it is
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        stats = server.stats()
        truth = len(server.state("usercourses", modules_data=False, fields="id"))
    requests = int(stats["by_route"].get("GET /api/usercourses", 0))
    throttled = int(stats["faults"].get("throttle", 0))
    completed = error is None and bool(summary.get("complete"))
    # A failed load did not make every request it needed: count the pages it had to read.
    needed = requests - throttled if completed else math.ceil(truth / args.page_size)
    allowed = allowed_seconds(needed, args.limit, args.window)
    return {
        "activities": truth,
        "throttle": args.throttle,
        "page_size": args.page_size,
        "extras": extras,
        "learned_pacing": not args.no_learned_pacing,
        "hook_rate_limit_window": args.window,
        "completed": completed,
        "records_read": summary.get("records_read"),
        "rows_written": summary.get("rows_written"),
        "requests": requests,
        "requests_needed": needed,
        "answered_429": throttled,
        "seconds": round(elapsed, 1),
        "allowed_seconds": allowed,
        "ratio": round(elapsed / allowed, 2) if allowed else None,
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['activities']} activities, throttle {result['throttle']}, "
            f"pages of {result['page_size']}"
            f"{'' if result['learned_pacing'] else ', pacing not learned'}: "
            f"{'completed' if result['completed'] else 'FAILED'} in {result['seconds']} s "
            f"(the throttle allows {result['allowed_seconds']} s at best; ratio {result['ratio']}); "
            f"{result['requests']} requests, {result['answered_429']} answered 429"
        )
        if result["error"]:
            print(f"error: {result['error']}")
    return 0 if result["completed"] and result["rows_written"] == result["activities"] else 1


if __name__ == "__main__":
    sys.exit(main())
