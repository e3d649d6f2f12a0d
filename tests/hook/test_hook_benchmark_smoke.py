"""The streaming benchmark still runs (at a tiny size; the real figures come from running it by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests._helpers import load_module

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hook_streaming.py"


def test_benchmark_runs_at_a_tiny_size(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    module = load_module(SCRIPT, "hook_streaming_benchmark")
    monkeypatch.setenv(module.CONN_ENV, "")  # restored afterwards; the run sets its own
    assert (
        module.main(["--activities", "300", "--small", "100", "--page-size", "50", "--reps", "1", "--no-rss"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Streaming 300 activities, 50 a page" in out
    assert "SmartArenaHook" in out
    assert "bare requests loop" in out
    assert "token requests per hook run: [1]" in out
