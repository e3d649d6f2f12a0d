"""Sixteen workers on the sandbox for a while (10 s in CI, a minute under ``make soak``).

The workers page through activities, list and look up users, and create, rename and delete their
own locations, while the sandbox injects 5xx, 429, dropped connections and expiring tokens. No
operation may fail (retries absorb every injected fault), the sandbox may answer nothing but what
was injected, and afterwards this process must hold no more sockets, file descriptors or threads
than before, with its memory flat after the warm-up.

Memory is measured once the tokens live long: each renewed token is registered with Airflow's
secrets masker, which keeps every pattern for the life of the process and compiles one regular
expression of all of them per new secret (Python's ``re`` cache keeps up to 512 of those). With
3-second tokens and a hook per worker that alone adds ~25 MB in 30 s; with the usual hour-long
tokens it is a few hundred bytes per hour.
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests._airflow import wait_until
from tests.reliability._support import SCALE, Figures, faults_injected

WORKERS = 16
FAULTS = {
    "error_rate": 0.05,
    "rate_limit_rate": 0.02,
    "retry_after": "0.05",
    "drop_rate": 0.01,
    "token_ttl": 3,
    "latency_ms": 5,
    "page_size": 50,
}
RETRIES: dict[str, Any] = {"retry_backoff": 0.02, "retry_max_wait": 2.0, "max_retries": 10}
#: Statuses the sandbox may answer: successes, the injected faults, and 401 for expired tokens.
EXPECTED_STATUSES = {"200", "201", "401", "429", "500", "502", "503"}


def open_fds() -> list[str]:
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:  # the directory's own descriptor, closed by now
            continue
    return fds


def open_sockets() -> int:
    return sum(1 for target in open_fds() if target.startswith("socket:"))


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass
class Load:
    operations: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self, kind: str) -> None:
        with self.lock:
            self.operations[kind] += 1

    def failed(self, kind: str, error: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{kind}: {type(error).__name__}: {error}")


def operations(
    hook: SmartArenaHook, worker: int, rng: random.Random, codes: list[str]
) -> list[tuple[str, Callable[[], None]]]:
    counter = iter(range(10**9))

    def pages() -> None:
        since = f"2024-{rng.randint(10, 12):02d}-01 00:00:00"
        records = [r for page in hook.iter_user_course_pages(updated_after=since) for r in page.records]
        assert all(r["updated_at"] > since for r in records)

    def users() -> None:
        assert len(hook.get_users()) == len(codes)

    def lookup() -> None:
        code = rng.choice(codes)
        assert (hook.get_user(code) or {}).get("mapping_code") == code

    def write() -> None:
        code = f"load-{worker}-{next(counter)}"
        hook.create_location(code, "Load test")
        hook.update_location(code, name="Load test, renamed")
        assert (hook.get_location(code) or {}).get("name") == "Load test, renamed"
        hook.delete_location(code)
        assert hook.get_location(code) is None

    return [("pages", pages), ("users", users), ("lookup", lookup), ("write", write)]


def run_workers(hooks: list[SmartArenaHook], seconds: float, codes: list[str], load: Load) -> None:
    deadline = time.monotonic() + seconds

    def work(worker: int) -> None:
        rng = random.Random(worker)
        hook = hooks[worker % len(hooks)]
        choices = operations(hook, worker, rng, codes)
        while time.monotonic() < deadline:
            kind, operation = rng.choice(choices)
            try:
                operation()
                load.done(kind)
            except Exception as error:
                load.failed(kind, error)

    threads = [threading.Thread(target=work, args=(n,), name=f"load-{n}") for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"


@pytest.mark.slow
@pytest.mark.parametrize("hooks_per_run", [1, WORKERS], ids=["one-shared-hook", "a-hook-per-worker"])
def test_sixteen_workers_leave_no_errors_sockets_threads_or_memory_behind(
    fresh_sandbox: SandboxServer, make_hook: Any, figures: Figures, hooks_per_run: int
) -> None:
    fresh_sandbox.set_faults(seed=hooks_per_run, **FAULTS)
    codes = [u["mapping_code"] for u in fresh_sandbox.state("users")]
    gc.collect()
    fds_before, sockets_before = len(open_fds()), open_sockets()
    threads_before = threading.active_count()

    hooks = [
        make_hook(fresh_sandbox.connection_json(), pool_maxsize=WORKERS, **RETRIES)
        for _ in range(hooks_per_run)
    ]
    load = Load()
    # The shared hook gets the whole soak (10 s in CI, a minute under make soak), the other half.
    seconds = SCALE.load_seconds if hooks_per_run == 1 else SCALE.load_seconds / 2
    # Warm-up (imports, pools, caches) with 3-second tokens: sixteen threads renewing them at once.
    run_workers(hooks, min(4.0, seconds / 3), codes, load)
    # Then long-lived tokens for the measured part: every renewed token is added to Airflow's
    # secrets masker, which never forgets one (see the module docstring), and that is not ours.
    fresh_sandbox.set_faults(token_ttl=3600)
    run_workers(hooks, 2.0, codes, load)
    gc.collect()
    rss_warm = rss_mb()
    run_workers(hooks, seconds, codes, load)
    gc.collect()
    rss_end = rss_mb()
    for hook in hooks:
        hook.close()

    stats = fresh_sandbox.stats()
    statuses = Counter({k: int(v) for k, v in stats["by_status"].items()})
    assert load.errors == [], load.errors[:10]
    assert sum(load.operations.values()) > 100, load.operations
    assert set(load.operations) == {"pages", "users", "lookup", "write"}
    assert set(statuses) <= EXPECTED_STATUSES, statuses
    assert statuses["500"] + statuses["502"] + statuses["503"] == stats["faults"].get("error", 0)
    assert statuses["429"] == stats["faults"].get("rate_limit", 0)
    assert stats["faults"].get("error", 0) > 0
    assert stats["faults"].get("rate_limit", 0) > 0
    assert [loc for loc in fresh_sandbox.state("locations") if loc["mapping_code"].startswith("load-")] == []

    assert wait_until(lambda: open_sockets() <= sockets_before, timeout=10, interval=0.1), (
        f"{open_sockets() - sockets_before} sockets left open"
    )
    assert wait_until(lambda: threading.active_count() <= threads_before, timeout=10, interval=0.1), [
        t.name for t in threading.enumerate()
    ]
    gc.collect()
    assert len(open_fds()) <= fds_before, sorted(set(open_fds()))
    growth = rss_end - rss_warm
    assert growth < 15, f"RSS grew {growth:.1f} MB under load"
    figures.add(
        load_operations=sum(load.operations.values()),
        load_requests=stats["total"],
        faults_injected=faults_injected(fresh_sandbox),
        load_errors=len(load.errors),
        rss_growth_mb=round(growth, 1),
    )
