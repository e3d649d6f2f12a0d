"""``benchmarks/throttled_first_load.py`` runs end to end at a tiny size (no figure is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import throttled_first_load


def test_a_tiny_throttled_first_load_completes(capsys: pytest.CaptureFixture[str]) -> None:
    # 60 activities in pages of 15 through 3 requests a second: one window's wait, Retry-After 1 s.
    status = throttled_first_load.main(["--activities", "60", "--throttle", "3/1", "--json"])
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("{")][-1]
    result = json.loads(line)
    assert status == 0, result
    assert result["completed"]
    assert result["rows_written"] == result["activities"] == 60
    assert result["allowed_seconds"] == 1


def test_bad_arguments_name_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        throttled_first_load.parse_args(["--throttle", "60"])
    assert "--throttle" in capsys.readouterr().err


def test_regenerating_the_benchmark_page_keeps_the_hand_run_figures() -> None:
    from benchmarks.report import KEPT_MARKER, keep_hand_run

    previous = f"# Benchmarks\n\nold figures\n\n{KEPT_MARKER}\n\n## Throttled first load\n\n301 s\n"
    page = keep_hand_run("# Benchmarks\n\nnew figures\n", previous)
    assert "new figures" in page
    assert "old figures" not in page
    assert page.endswith(f"{KEPT_MARKER}\n\n## Throttled first load\n\n301 s\n")
    assert keep_hand_run(page, page) == page, "kept once, not twice"
    assert keep_hand_run("# Benchmarks\n", "") == "# Benchmarks\n"
