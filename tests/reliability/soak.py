"""``make soak``: the reliability suite at soak scale, then its figures.

Runs ``pytest tests/reliability`` with ``SMARTARENA_SOAK=1`` (larger data, more seeded runs and kills,
a minute of load, the tests marked ``soak``), collects what every test recorded with its ``figures``
fixture, and prints: runs, kills, faults injected, records compared, lost, duplicated, secrets
searched and found, load operations and errors. Exits non-zero if a test failed, or if anything was
lost, duplicated or leaked.

    python tests/reliability/soak.py                # the whole suite at soak scale, 2 workers
    python tests/reliability/soak.py -k chaos -n 0  # extra arguments go to pytest
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = "tests/reliability"
SUMMED = (
    "runs",
    "kills",
    "faults_injected",
    "records_compared",
    "lost",
    "duplicated",
    "secrets_searched",
    "secret_places_searched",
    "secrets_found",
    "load_operations",
    "load_requests",
    "load_errors",
)


def run_suite(figures: Path, extra: list[str]) -> int:
    env = {**os.environ, "SMARTARENA_SOAK": "1", "SMARTARENA_SOAK_FIGURES": str(figures)}
    workers = [] if any(a.startswith("-n") for a in extra) else ["-n", "2"]
    command = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "--timeout", "1200"]
    command += ["-q", "-rfEx", *workers, *extra]
    print("$ SMARTARENA_SOAK=1 " + " ".join(command[2:]), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def read_figures(path: Path) -> tuple[Counter[str], float, int]:
    totals: Counter[str] = Counter()
    growth = 0.0
    tests = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        tests.add(record["test"])
        for name in SUMMED:
            totals[name] += int(record.get(name, 0))
        growth = max(growth, float(record.get("rss_growth_mb", 0.0)))
    return totals, growth, len(tests)


def report(totals: Counter[str], growth: float, tests: int, code: int, minutes: float) -> None:
    rows = [
        ("tests reporting figures", tests),
        ("runs (extraction and sync, killed ones included)", totals["runs"]),
        ("kills (SIGKILL)", totals["kills"]),
        ("faults injected (sandbox stats)", totals["faults_injected"]),
        ("records compared with the ground truth", totals["records_compared"]),
        ("lost", totals["lost"]),
        ("duplicated", totals["duplicated"]),
        ("secrets searched for", totals["secrets_searched"]),
        ("places searched (log files, XComs, rendered fields, ...)", totals["secret_places_searched"]),
        ("secrets found", totals["secrets_found"]),
        ("load: operations by 16 workers", totals["load_operations"]),
        ("load: requests served", totals["load_requests"]),
        ("load: errors", totals["load_errors"]),
        ("load: largest RSS growth after warm-up (MB)", f"{growth:.1f}"),
    ]
    print("\n" + "=" * 72)
    print(f"Smart ARENA reliability soak ({minutes:.1f} min, pytest exit code {code})")
    print("=" * 72)
    for label, value in rows:
        print(f"  {label:<58} {value:>10}")


def main(argv: list[str]) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smartarena-soak-") as tmp:
        figures = Path(tmp) / "figures.jsonl"
        figures.touch()
        code = run_suite(figures, argv)
        totals, growth, tests = read_figures(figures)
    report(totals, growth, tests, code, (time.monotonic() - started) / 60)
    broken = [name for name in ("lost", "duplicated", "secrets_found", "load_errors") if totals[name]]
    if broken:
        print(f"FAILED: {', '.join(broken)} not zero")
    if not tests:
        print("FAILED: no test reported figures")
    return 1 if code or broken or not tests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
