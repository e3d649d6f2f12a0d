"""The streaming benchmark still runs (at a tiny size; the real figures come from running it by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hook_streaming.py"


def test_benchmark_runs_at_a_tiny_size(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    spec = importlib.util.spec_from_file_location("hook_streaming_benchmark", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
