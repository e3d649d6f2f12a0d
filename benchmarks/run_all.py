"""Run every benchmark scenario and write the report (``python -m benchmarks``).

    python -m benchmarks --mode quick     # make bench: docs/benchmarks.md, about 5 minutes on 2 cores
    python -m benchmarks --mode full      # make bench-full: docs/benchmarks-full.md, the issues' sizes
    python -m benchmarks --mode tiny --out /tmp/b/benchmarks.md        # seconds (the smoke test)
    python -m benchmarks --render-only .bench/figures-quick.json       # rewrite the page only
    python -m benchmarks --mode full --only extraction --sizes 200000 --latencies 20 --reps 2 \\
        --contenders transfer-seq,transfer-conc,fetch-conc --out /tmp/b/200k.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks import charts, extract_suite, hook_suite, parse_suite, report, sync_suite
from benchmarks.extract_suite import Cell
from benchmarks.harness import ROOT, cpu_seconds, load_averages, machine, wait_for_quiet

SCENARIOS = ("extraction", "hook", "sync", "parse")
THREE_GROUPS = ["imports-operators", "imports-sensors", "imports-transfers", "dagbag"]


@dataclass
class Mode:
    extraction: list[Cell]
    hook: tuple[int, int, int, list[int]]  # activities, small (memory run), reps, latencies
    sync: tuple[int, float, list[int], int]  # users, changed share, latencies, reps
    parse_reps: int
    contenders: list[str] = field(default_factory=lambda: list(extract_suite.ALL_CONTENDERS))
    once: list[str] = field(default_factory=list)  # see extract_suite.Plan.once
    hook_rss: bool = True
    parse_children: list[str] = field(default_factory=list)  # empty: all
    importtime: bool = True


MODES = {
    "tiny": Mode(  # the smoke test: every code path, in seconds
        extraction=[Cell(300, [(0, 2)])],
        hook=(300, 100, 1, [0]),
        sync=(120, 0.05, [0], 1),
        parse_reps=1,
        contenders=[
            "requests-loop",
            "httphook-loop",
            "dlt",
            "transfer-conc",
            "fetch-typed",
            "transfer-pg",
            "transfer-mariadb",
            "dlt-pg",
        ],
        once=["requests-loop", "httphook-loop", "dlt", "dlt-pg"],
        hook_rss=False,
        parse_children=["imports-all", "dagbag"],
        importtime=False,
    ),
    "quick": Mode(
        # Two runs a cell: with the warehouses' columns, three at 20 ms took the run over 5 minutes.
        extraction=[Cell(5_000, [(20, 2)]), Cell(20_000, [(20, 2), (0, 2)])],
        # dlt into PostgreSQL (a minute more) only in full mode: the quick run stays under 5 minutes.
        contenders=[c for c in extract_suite.ALL_CONTENDERS if c != "dlt-pg"],
        # The loops without this provider took half the quick run's extraction time (5-13 s a run
        # at 20k records): one run of each a cell, their second run took 1.1 minutes.
        once=["requests-loop", "httphook-loop", "dlt"],
        # Two rounds of the hook and of the parse cost: their third took 0.6 minutes.
        hook=(20_000, 5_000, 2, [0]),
        sync=(10_000, 0.01, [20], 1),
        parse_reps=2,
        parse_children=THREE_GROUPS,
    ),
    "full": Mode(
        extraction=[  # the sizes of issues #5 (20k to 200k) and #22 (50k and 200k)
            Cell(20_000, [(20, 3), (0, 3)]),
            Cell(50_000, [(20, 3), (0, 2)]),
            # Two runs at 0 ms too: with one, an outlying run of the pages alone judged issue 22's
            # CPU target (27.8 µs against 37.6-41.9 in every other run of that day).
            Cell(200_000, [(20, 2), (0, 2)]),
        ],
        hook=(100_000, 20_000, 3, [0, 20]),
        sync=(10_000, 0.01, [20, 0], 3),
        parse_reps=7,
    ),
}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_scenarios(mode: Mode, only: Sequence[str], log: Callable[[str], None] = _log) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if "extraction" in only:
        log("scenarios 1 and 5: extraction")
        figures["extraction"] = extract_suite.run(
            extract_suite.Plan(mode.extraction, mode.contenders, mode.once), log
        )
    if "hook" in only:
        log("scenario 2: hook streaming")
        activities, small, reps, latencies = mode.hook
        figures["hook"] = hook_suite.run(activities, small, reps, latencies, log, rss=mode.hook_rss)
    if "sync" in only:
        log("scenario 3: provisioning")
        users, changed, latencies, reps = mode.sync
        figures["sync"] = sync_suite.run(users, changed, latencies, reps, log)
    if "parse" in only:
        log("scenario 4: DAG parse cost")
        figures["parse"] = parse_suite.run(
            mode.parse_reps, log, children=mode.parse_children, importtime=mode.importtime
        )
    return figures


def write_report(figures: dict[str, Any], out: Path, images: Path) -> Path:
    drawn = charts.draw_all(figures, images, prefix=out.stem)
    note = (
        "" if charts.available() else "_Charts: not drawn, matplotlib is not installed (see `make bench`)._"
    )
    relative = {key: os.path.relpath(images / name, out.parent) for key, name in drawn.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = out.read_text(encoding="utf-8") if out.exists() else ""
    page = report.keep_hand_run(report.render(figures, relative, note), previous)
    out.write_text(page, encoding="utf-8")
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--out", type=Path, default=None, help="default: docs/benchmarks.md (-full for full)")
    parser.add_argument("--images", type=Path, default=None, help="default: images/ beside --out")
    parser.add_argument(
        "--figures", type=Path, default=None, help="raw JSON (default .bench/figures-MODE.json)"
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"a subset of {','.join(SCENARIOS)}")
    parser.add_argument("--render-only", type=Path, default=None, help="rewrite the page from this JSON")
    parser.add_argument(
        "--max-load", type=float, default=None, help="first wait until the load average is below"
    )
    parser.add_argument("--max-wait", type=float, default=600, help="seconds to wait for --max-load at most")
    extraction = parser.add_argument_group("extraction overrides (of the mode's plan)")
    extraction.add_argument("--sizes", default=None, help="records, comma-separated")
    extraction.add_argument("--latencies", default=None, help="ms per request, comma-separated")
    extraction.add_argument("--reps", type=int, default=None, help="repetitions at each latency")
    extraction.add_argument("--contenders", default=None, help=f"of {','.join(extract_suite.ALL_CONTENDERS)}")
    return parser


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def plan_of(args: argparse.Namespace) -> Mode:
    """The mode, with the extraction overrides of the command line applied."""
    mode = MODES[args.mode]
    if args.contenders:
        mode = replace(mode, contenders=[c.strip() for c in args.contenders.split(",") if c.strip()])
    if args.sizes or args.latencies or args.reps:
        first = mode.extraction[-1].runs
        latencies = _numbers(args.latencies) if args.latencies else [latency for latency, _ in first]
        reps = args.reps or first[0][1]
        sizes = _numbers(args.sizes) if args.sizes else [c.records for c in mode.extraction]
        mode = replace(mode, extraction=[Cell(n, [(latency, reps) for latency in latencies]) for n in sizes])
    return mode


def measure(args: argparse.Namespace) -> dict[str, Any]:
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.max_load is not None:
        wait_for_quiet(args.max_load, args.max_wait, _log)
    started = time.monotonic()
    about = {**machine(), "mode": args.mode}
    narrowed = [
        f"--{name} {value}"
        for name, value in (
            ("only", args.only if set(only) != set(SCENARIOS) else None),
            ("sizes", args.sizes),
            ("latencies", args.latencies),
            ("reps", args.reps),
            ("contenders", args.contenders),
        )
        if value
    ]
    if narrowed:
        about["arguments"] = " ".join(narrowed)
    figures = run_scenarios(plan_of(args), only)
    about["elapsed_s"] = round(time.monotonic() - started, 1)
    about["load_average_end"] = load_averages()
    about["cpu_s_all_processes"] = round(cpu_seconds(), 1)
    figures["machine"] = about
    # A narrowed run (a size, a contender) keeps its own file: it must not replace the figures the
    # committed page was rendered from (--render-only rewrites that page from them).
    kind = f"{args.mode}-narrowed" if narrowed else args.mode
    target = args.figures or ROOT / ".bench" / f"figures-{kind}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(figures, indent=1))
    _log(f"figures in {target} ({about['elapsed_s'] / 60:.1f} min)")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    figures = json.loads(args.render_only.read_text()) if args.render_only else measure(args)
    mode = figures["machine"]["mode"]
    out = args.out or ROOT / "docs" / ("benchmarks.md" if mode == "quick" else f"benchmarks-{mode}.md")
    path = write_report(figures, out, args.images or out.parent / "images")
    _log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
