"""The sync benchmark's harness runs (small and without latency); its figures are not asserted on speed."""

from __future__ import annotations

import json
from pathlib import Path

from tests._helpers import load_module

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "sync.py"


def test_benchmark_runs_small(tmp_path: Path) -> None:
    bench = load_module(BENCHMARK, "benchmark_sync")
    out = tmp_path / "figures.json"

    assert bench.main(["--users", "120", "--changed", "0.05", "--latency-ms", "0", "--json", str(out)]) == 0

    figures = json.loads(out.read_text())
    sync, again, naive = figures["results"]
    assert (sync["write_calls"], sync["read_calls"], sync["errors"]) == (6, 1, 0)
    assert again["write_calls"] == 0
    assert naive["write_calls"] == 120
    assert "| sync |" in bench.render(figures)
