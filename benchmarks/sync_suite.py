"""Scenario 3: provisioning N users with a share changed, the provider's sync against a naive loop.

Runs ``benchmarks/sync.py`` (its ``run()``: sync, the same sync again, then a loop that PUTs every
user) in a child process per latency and repetition, and renders medians as Markdown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.harness import emit, median, run_module

MODULE = "benchmarks.sync_suite"
CONCURRENCY = 8


def run(
    users: int, changed: float, latencies: Sequence[int], reps: int, log: Callable[[str], None] = print
) -> dict[str, Any]:
    runs = []
    for latency in latencies:
        for rep in range(reps):
            runs.append(run_module(MODULE, [str(users), str(changed), str(latency)]))
            log(f"  sync {users} users, {latency} ms, rep {rep + 1}/{reps}: done")
    return {"users": users, "changed_share": changed, "runs": runs}


def child(users: int, changed: float, latency_ms: int) -> dict[str, Any]:
    import logging

    from benchmarks import sync

    logging.disable(logging.WARNING)
    figures: dict[str, Any] = sync.run(users, changed, latency_ms, CONCURRENCY, CONCURRENCY)
    for result in figures["results"]:
        result.pop("result", None)  # per-record counts: not needed here
    return figures


def summarize(figures: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for latency in sorted({r["latency_ms"] for r in figures["runs"]}):
        runs = [r for r in figures["runs"] if r["latency_ms"] == latency]
        for name in [c["contender"] for c in runs[0]["results"]]:
            mine = [c for r in runs for c in r["results"] if c["contender"] == name]
            rows.append(
                {
                    "latency_ms": latency,
                    "contender": name,
                    "reps": len(mine),
                    "seconds": median(c["seconds"] for c in mine),
                    "write_calls": max(c["write_calls"] for c in mine),
                    "read_calls": max(c["read_calls"] for c in mine),
                    "errors": max(c["errors"] for c in mine),
                    "changed": runs[0]["changed"],
                }
            )
    return rows


def render(figures: dict[str, Any]) -> str:
    rows = summarize(figures)
    first = figures["runs"][0]
    lines = [
        f"{figures['users']:,} users on the platform, {first['changed']} of them changed in the source; "
        f"writes {first['concurrency']} at a time for both (so the difference is the number of writes, "
        "not parallelism). Calls are counted by the sandbox.",
        "",
        "| latency | contender | wall (s) | write calls | read calls | errors |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['latency_ms']} ms | {r['contender']} | {r['seconds']:.2f} | {r['write_calls']:,} "
        f"| {r['read_calls']} | {r['errors']} |"
        for r in rows
    ]
    lines += ["", "Errors of the naive loop are the 403s of `synch_protected` users, which it PUTs anyway."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    users, changed, latency = list(sys.argv[1:] if argv is None else argv)
    emit(child(int(users), float(changed), int(latency)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
