"""Benchmark: provisioning N users of which a few changed, this provider's sync against a naive loop.

The sandbox is seeded with N users; the desired state is those same users with a share of them
given a new e-mail address. Contenders, each on the same freshly seeded sandbox with the same
injected latency per request:

* ``sync``: :class:`SmartArenaUserSyncOperator` (one read of all users, then only the changed
  records, ``--concurrency`` writes in flight);
* ``sync (again)``: the same sync run a second time with the same input (expected: no writes);
* ``naive``: a loop that PUTs every desired user, with ``--naive-concurrency`` in flight (1 is the
  plain ``for`` loop a DAG author would write; the default gives it the sync's concurrency so
  that the difference measured is the number of writes, not parallelism).

Write calls are counted by the sandbox (``/_sandbox/stats``), not by the client. Run::

    .venv/bin/python benchmarks/sync.py --users 10000 --changed 0.01 --latency-ms 20

This is a measurement, not a test; ``tests/sync/test_sync_benchmark_smoke.py`` runs it small.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.resources import USERS
from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

CONN_ID = "smartarena_bench"
#: The user fields an HR export carries (what the sync compares and the naive loop sends).
HR_FIELDS = tuple(f for f in USERS.comparable if f not in ("username", "synch_protected"))


class _TaskInstance:
    def xcom_push(self, key: str, value: Any) -> None:  # the summary is returned as well
        pass


def desired_users(sandbox: SandboxServer, changed_share: float) -> tuple[list[dict[str, Any]], int]:
    """The sandbox's users as an HR export would list them, every k-th unprotected one with a new e-mail."""
    users = sorted(sandbox.state("users"), key=lambda u: u["mapping_code"])
    desired = [{f: u.get(f) for f in ("mapping_code", *HR_FIELDS)} for u in users]
    editable = [d for d, u in zip(desired, users, strict=True) if not u["synch_protected"]]
    count = round(len(users) * changed_share)
    step = max(1, len(editable) // max(count, 1))
    for record in editable[::step][:count]:
        record["email"] = f"changed.{record['mapping_code']}@example.com"
    return desired, count


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def _measure(sandbox: SandboxServer, name: str, func: Callable[[], Any]) -> dict[str, Any]:
    sandbox.reset_stats()
    seconds, result = _timed(func)
    stats = sandbox.stats()
    routes = stats["by_route"]
    return {
        "contender": name,
        "seconds": round(seconds, 2),
        "write_calls": stats["writes"],
        "read_calls": sum(n for route, n in routes.items() if route.startswith("GET /api/")),
        "errors": sum(n for status, n in stats["by_status"].items() if int(status) >= 400),
        "result": result,
    }


def run_sync(users: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    operator = SmartArenaUserSyncOperator(
        task_id="bench_sync", users=users, smartarena_conn_id=CONN_ID, max_concurrency=concurrency
    )
    context: Any = {"run_id": "bench", "ti": _TaskInstance()}  # all the operator uses of a context
    summary: dict[str, Any] = operator.execute(context)
    return summary["counts"]


def run_naive(users: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    """PUT every user, as a DAG that does not diff would (protected users answer 403)."""
    hook = SmartArenaHook(CONN_ID, max_retries=5)
    outcomes = hook.run_concurrently(lambda u: hook.update_record(USERS, u), users, max_workers=concurrency)
    return {"ok": sum(o.ok for o in outcomes), "failed": sum(not o.ok for o in outcomes)}


def run(
    users: int = 10_000,
    changed: float = 0.01,
    latency_ms: int = 20,
    concurrency: int = 8,
    naive_concurrency: int = 8,
    seed: int = 1,
) -> dict[str, Any]:
    """Run every contender once on the same data; return the figures."""
    sizes: dict[str, Any] = {"seed": seed, "users": users, "courses": 1, "activities": 0}
    results = []
    env_name = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    with run_sandbox(**sizes) as sandbox:
        os.environ[env_name] = sandbox.connection_json()
        desired, n_changed = desired_users(sandbox, changed)
        contenders: list[tuple[str, Callable[[], Any]]] = [
            ("sync", lambda: run_sync(desired, concurrency)),
            ("sync (again)", lambda: run_sync(desired, concurrency)),
            ("naive PUT-all", lambda: run_naive(desired, naive_concurrency)),
        ]
        for name, func in contenders:
            if name != "sync (again)":
                sandbox.reset(**sizes)  # each contender starts from the same seeded state
            sandbox.set_faults(latency_ms=latency_ms)
            results.append(_measure(sandbox, name, func))
        del os.environ[env_name]
    return {
        "users": users,
        "changed": n_changed,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "naive_concurrency": naive_concurrency,
        "results": results,
    }


def render(figures: dict[str, Any]) -> str:
    lines = [
        f"Sync of {figures['users']} users, {figures['changed']} changed, {figures['latency_ms']} ms latency "
        f"(sync concurrency {figures['concurrency']}, naive {figures['naive_concurrency']})",
        "",
        "| contender | wall time (s) | write calls | read calls | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['contender']} | {r['seconds']:.2f} | {r['write_calls']} | {r['read_calls']} | {r['errors']} |"
        for r in figures["results"]
    ]
    sync, naive = figures["results"][0], figures["results"][-1]
    if sync["seconds"]:
        lines += [
            "",
            f"naive / sync: {naive['seconds'] / sync['seconds']:.1f}x the time, "
            f"{naive['write_calls'] / max(sync['write_calls'], 1):.0f}x the writes",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of users changed (0.01 = 1%%)")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--naive-concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(
        args.users, args.changed, args.latency_ms, args.concurrency, args.naive_concurrency, args.seed
    )
    print(render(figures))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
