"""Scenario 2: the hook's streaming overhead against a bare ``requests`` loop over the same pages.

Runs ``benchmarks/hook_streaming.py`` (its ``run()``) in a child process per latency, so its
connection variable and log output stay out of the driver, and renders its figures as Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.harness import emit, run_module

MODULE = "benchmarks.hook_suite"
CONCURRENCY = 4


def run(
    activities: int,
    small: int,
    reps: int,
    latencies: Sequence[int],
    log: Callable[[str], None] = print,
    *,
    rss: bool = True,
) -> dict[str, Any]:
    """One child per latency; peak RSS is measured at the first latency only (it does not depend on it)."""
    runs = []
    for index, latency in enumerate(latencies):
        memory = "rss" if rss and index == 0 else "no-rss"
        args = [str(activities), str(small), str(reps), str(latency), memory]
        runs.append(run_module(MODULE, args))
        log(f"  hook streaming {activities} records, {latency} ms: done")
    return {"runs": runs}


def child(activities: int, small: int, reps: int, latency_ms: int, rss: bool) -> dict[str, Any]:
    import logging

    from benchmarks import hook_streaming

    logging.disable(logging.WARNING)
    args = argparse.Namespace(
        activities=activities,
        small=small,
        page_size=100,
        latency_ms=latency_ms,
        reps=reps,
        concurrency=CONCURRENCY,
        modules=False,
        no_rss=not rss,
        json=False,
        child=None,
    )
    return hook_streaming.run(args)


# ---------------------------------------------------------------------- report


def _pct(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f}%"


def render(figures: dict[str, Any]) -> str:
    lines = [
        "| latency | records | bare loop wall (s) | hook wall (s) | wall overhead | best vs best "
        f"| bare CPU (s) | hook CPU (s) | CPU overhead | hook, {CONCURRENCY} pages at once (s) "
        "| token requests per run |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in figures["runs"]:
        concurrent = f"{r['concurrent_wall']:.2f}" if r.get("concurrent_wall") else "-"
        lines.append(
            f"| {r.get('latency_ms', 0)} ms | {r['activities']:,} | {r['bare_wall']:.2f} "
            f"| {r['hook_wall']:.2f} | {_pct(r['wall_ratio'])} | {_pct(r['best_wall_ratio'])} "
            f"| {r['bare_cpu']:.2f} | {r['hook_cpu']:.2f} | {_pct(r['cpu_ratio'])} "
            f"| {concurrent} | {sorted(set(r['tokens']))} |"
        )
    first = figures["runs"][0]
    lines += [
        "",
        f"Walls and CPU are medians; overheads are the median of the {first['reps']} paired hook/bare "
        "ratios (the two ran back to back in each repetition, alternating which went first), and the "
        "best hook run against the best bare run.",
    ]
    if first.get("rss"):
        lines += ["", *rss_table(first["rss"])]
    return "\n".join(lines) + "\n"


def rss_table(rss: dict[str, Any]) -> list[str]:
    rows = [
        ("imports only", rss["baseline"]),
        ("stream the last part", rss["small"]),
        ("stream all", rss["large"]),
    ]
    lines = [
        "Memory, each in a fresh process (the hook keeps one page at a time):",
        "",
        "| run | records | peak RSS (MB) | highest RSS while streaming (MB) | growth while streaming (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['records']:,} | {r['peak_kb'] / 1024:.1f} | {r['rss_max_kb'] / 1024:.1f} "
            f"| {(r['rss_max_kb'] - r['rss_before_kb']) / 1024:+.1f} |"
        )
    return lines


def rss_difference_mb(figures: dict[str, Any]) -> float | None:
    """Peak RSS of streaming everything minus that of streaming the small part."""
    rss = figures["runs"][0].get("rss")
    return (rss["large"]["peak_kb"] - rss["small"]["peak_kb"]) / 1024 if rss else None


def main(argv: Sequence[str] | None = None) -> int:
    activities, small, reps, latency, rss = list(sys.argv[1:] if argv is None else argv)
    result = child(int(activities), int(small), int(reps), int(latency), rss == "rss")
    emit(json.loads(json.dumps(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
