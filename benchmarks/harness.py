"""What every scenario shares: child processes, medians and ratios, the machine, the load."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "RESULT "


class WorkerError(RuntimeError):
    """A child process failed; carries the tail of its output."""


# ---------------------------------------------------------------------- child processes


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def run_module(
    module: str,
    args: Sequence[str] = (),
    *,
    python_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> dict[str, Any]:
    """Run ``python -m <module> <args>`` from the repository root; return its ``RESULT`` JSON line."""
    command = [sys.executable, *python_args, "-m", module, *args]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=_child_env(env), timeout=timeout
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = (done.stdout + done.stderr)[-3000:]
    raise WorkerError(f"{module} {' '.join(args)} exited {done.returncode} without a result:\n{tail}")


class Worker:
    """A child process that loads once, says ``ready``, then answers one ``RESULT`` line per line
    written to its stdin (so that contenders can be alternated without paying start-up each run)."""

    def __init__(self, module: str, args: Sequence[str], log_path: Path) -> None:
        self.name = f"{module} {' '.join(args[:1])}"
        self._log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            env=_child_env(),
        )

    def _line(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            tail = self._log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise WorkerError(f"{self.name} exited {self._process.returncode}:\n{tail}")
        return line

    def wait_ready(self, marker: str) -> None:
        while not self._line().startswith(marker):
            pass

    def ask(self, request: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(request + "\n")
        self._process.stdin.flush()
        while True:
            line = self._line()
            if line.startswith(RESULT_PREFIX):
                result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
                return result

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.close()
                self._process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._log.close()


def emit(result: dict[str, Any]) -> None:
    """Print a child's result for :func:`run_module` (the last line of its stdout)."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def rss_now_mb() -> float:
    """This process's resident set size now (Linux), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------------- figures


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def alternate(names: Sequence[str], rep: int) -> list[str]:
    """The contenders' order in repetition ``rep``: rotated, and reversed every other time, so no
    contender always runs first (cold caches) or right after the same neighbour."""
    shift = rep % len(names) if names else 0
    order = list(names[shift:]) + list(names[:shift])
    return order[::-1] if rep % 2 else order


# ---------------------------------------------------------------------- the machine


def load_average() -> float:
    return os.getloadavg()[0]


def load_averages() -> list[float]:
    """The 1, 5 and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def wait_for_quiet(max_load: float, max_wait_s: float, log: Any = print) -> float:
    """Wait (up to ``max_wait_s``) until the 1-minute load average is at most ``max_load``."""
    deadline = time.monotonic() + max_wait_s
    load = load_average()
    while load > max_load and time.monotonic() < deadline:
        log(f"load average {load:.2f} > {max_load}: waiting for a quieter moment")
        time.sleep(min(30.0, max(1.0, deadline - time.monotonic())))
        load = load_average()
    return load


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "airflow": _version("apache-airflow"),
        "provider": _version("airflow-provider-smartarena"),
        "http_provider": _version("apache-airflow-providers-http"),
        "dlt": _version("dlt"),
        "load_average": load_averages(),
    }
