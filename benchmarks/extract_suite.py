"""Scenarios 1 and 5: extraction of usercourses into SQLite, contender against contender, by size.

One sandbox is started and re-seeded for each size (smallest first); each contender has its own
long-lived process (:mod:`benchmarks.extract_worker`), started once; at each size and latency the
contenders run alternately (the order rotates every repetition), each run into a new SQLite file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import Worker, alternate, median

PAGE_SIZE = 100
COURSES = 50
WORKER_MODULE = "benchmarks.extract_worker"
ALL_CONTENDERS = (
    "httphook-loop",
    "requests-loop",
    "dlt",
    "transfer-seq",
    "transfer-conc",
    "fetch-conc",
    "fetch-typed",
    "bytes-conc",
    "transfer-pg",
    "transfer-mariadb",
    "dlt-pg",
)
#: Sequential contenders (their floor is pages x latency).
SEQUENTIAL = ("httphook-loop", "requests-loop", "dlt", "transfer-seq", "dlt-pg")
LABELS = {
    "httphook-loop": "HttpHook paging loop + insert_rows",
    "requests-loop": "requests paging loop + insert_rows",
    "dlt": "dlt rest_api -> sqlalchemy (SQLite)",
    "transfer-seq": "this provider's transfer, max_concurrency=1",
    "transfer-conc": "this provider's transfer, default concurrency",
    "fetch-conc": "(reference) the hook's paging alone, no database",
    "fetch-typed": "(reference) the hook's paging as the transfer reads it (typed records), no database",
    "bytes-conc": "(reference) pages read as bytes only, http.client",
    "transfer-pg": "this provider's transfer into PostgreSQL, default concurrency",
    "transfer-mariadb": "this provider's transfer into MariaDB, default concurrency",
    "dlt-pg": "dlt rest_api -> postgres (PostgreSQL)",
}


@dataclass
class Cell:
    """One data size, and the (latency in ms, repetitions) to measure it at."""

    records: int
    runs: list[tuple[int, int]]


@dataclass
class Plan:
    cells: list[Cell]
    contenders: list[str] = field(default_factory=lambda: list(ALL_CONTENDERS))
    #: Contenders run in a cell's first repetition only: the slow loops the others are compared
    #: with, whose runs last long enough that one is already steady.
    once: list[str] = field(default_factory=list)


def _sizes(records: int) -> dict[str, Any]:
    # Activities are capped at users x courses.
    return {"users": records // COURSES + 1, "courses": COURSES, "activities": records}


def _start_workers(names: Sequence[str], sandbox: Any, workdir: Path) -> dict[str, Worker]:
    args = ["--url", sandbox.url, "--client-id", sandbox.client_id, "--client-secret", sandbox.client_secret]
    workers: dict[str, Worker] = {}
    try:
        for name in names:  # start together, wait together: start-up is never measured
            folder = workdir / name
            folder.mkdir()
            workers[name] = Worker(WORKER_MODULE, [name, *args, "--workdir", str(folder)], folder / "log.txt")
        for worker in workers.values():
            worker.wait_ready("WORKER_READY")
    except BaseException:
        for worker in workers.values():
            worker.close()
        raise
    return workers


def _one_run(worker: Worker, database: Path, expected: int, sandbox: Any) -> dict[str, Any]:
    before = sandbox.stats()["cpu_seconds"]
    result = worker.ask(str(database))
    result["server_cpu_s"] = sandbox.stats()["cpu_seconds"] - before
    if result["rows"] != expected:
        raise RuntimeError(f"{result['contender']} loaded {result['rows']} rows, expected {expected}")
    for path in database.parent.glob(f"{database.stem}*"):  # dlt also attaches <name>__<dataset>.db
        path.unlink()
    return result


def _warm(sandbox: Any, records: int) -> None:
    """Read every page once, unmeasured: the sandbox keeps records it has rendered, so that no
    contender pays for rendering that a real server does on its own machines."""
    import json
    import urllib.parse
    import urllib.request

    sandbox.set_faults(latency_ms=0, envelope="laravel", page_size=PAGE_SIZE)
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
    ).encode()
    with urllib.request.urlopen(f"{sandbox.url}/oauth/access_token", data=form) as answer:
        token = json.load(answer)["access_token"]
    for page in range(1, -(-records // PAGE_SIZE) + 1):
        request = urllib.request.Request(
            f"{sandbox.url}/api/usercourses?page={page}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request) as answer:
            answer.read()
    sandbox.reset_stats()


def _run_cell(
    cell: Cell,
    workers: dict[str, Worker],
    sandbox: Any,
    workdir: Path,
    log: Callable[[str], None],
    once: Sequence[str] = (),
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    _warm(sandbox, cell.records)
    for latency, reps in cell.runs:
        sandbox.set_faults(latency_ms=latency, envelope="laravel", page_size=PAGE_SIZE)
        for rep in range(reps):
            for name in alternate(list(workers), rep):
                if rep and name in once:
                    continue
                database = workdir / f"{name}-{cell.records}-{latency}ms-{rep}.db"
                result = _one_run(workers[name], database, cell.records, sandbox)
                runs.append({**result, "records": cell.records, "latency_ms": latency, "rep": rep})
                log(
                    f"  extraction {cell.records} records, {latency} ms, rep {rep + 1}/{reps}: "
                    f"{name} {result['wall_s']:.2f} s"
                )
    return runs


def run(plan: Plan, log: Callable[[str], None] = print) -> dict[str, Any]:
    from airflow_provider_smartarena.sandbox.testing import run_sandbox
    from benchmarks.extract_worker import default_concurrency, missing

    skipped = {name: reason for name in plan.contenders if (reason := missing(name))}
    names = [name for name in plan.contenders if name not in skipped]
    cells = sorted(plan.cells, key=lambda c: c.records)  # smallest first: see the memory notes
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="smartarena-bench-") as tmp,
        run_sandbox(page_size=PAGE_SIZE, **_sizes(cells[0].records)) as sandbox,
    ):
        workers = _start_workers(names, sandbox, Path(tmp))
        try:
            for index, cell in enumerate(cells):
                if index:
                    sandbox.reset(**_sizes(cell.records))
                runs += _run_cell(cell, workers, sandbox, Path(tmp), log, plan.once)
        finally:
            for worker in workers.values():
                worker.close()
    return {
        "plan": {
            "cells": [asdict(c) for c in cells],
            "contenders": list(plan.contenders),
            "once": list(plan.once),
        },
        "page_size": PAGE_SIZE,
        "concurrency": default_concurrency(),
        "skipped": skipped,
        "runs": runs,
    }


# ---------------------------------------------------------------------- summaries


def concurrency_of(name: str, default: int) -> int:
    return 1 if name in SEQUENTIAL else default


def floor_s(records: int, latency_ms: int, concurrency: int) -> float:
    """pages x latency / concurrency: the time the latency alone imposes."""
    pages = -(-records // PAGE_SIZE)
    return pages * latency_ms / 1000 / concurrency


def _paired_speedup(runs: list[dict[str, Any]], name: str, baseline: str) -> float | None:
    """Median over repetitions of baseline wall / contender wall (each pair ran in the same rep)."""
    by_rep: dict[int, dict[str, float]] = {}
    for run in runs:
        by_rep.setdefault(run["rep"], {})[run["contender"]] = run["wall_s"]
    ratios = [
        walls[baseline] / walls[name] for walls in by_rep.values() if name in walls and baseline in walls
    ]
    return median(ratios) if ratios else None


def baseline_of(figures: dict[str, Any]) -> str:
    """The loop a user writes without this provider: with HttpHook when measured, else requests."""
    names = {run["contender"] for run in figures["runs"]}
    return "httphook-loop" if "httphook-loop" in names else "requests-loop"


def summarize(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (records, latency, contender): medians, ratios, memory."""
    rows = []
    baseline = baseline_of(figures)
    keys = sorted({(r["records"], r["latency_ms"]) for r in figures["runs"]})
    for records, latency in keys:
        runs = [r for r in figures["runs"] if (r["records"], r["latency_ms"]) == (records, latency)]
        for name in ALL_CONTENDERS:
            mine = [r for r in runs if r["contender"] == name]
            if mine:
                rows.append(_summary_row(name, mine, runs, baseline, figures["concurrency"]))
    return rows


def _summary_row(
    name: str, mine: list[dict[str, Any]], runs: list[dict[str, Any]], baseline: str, default: int
) -> dict[str, Any]:
    records, latency = mine[0]["records"], mine[0]["latency_ms"]
    wall = median(r["wall_s"] for r in mine)
    floor = floor_s(records, latency, concurrency_of(name, default))
    return {
        "records": records,
        "latency_ms": latency,
        "contender": name,
        "reps": len(mine),
        "wall_s": wall,
        "records_per_s": records / wall,
        "floor_s": floor,
        "wall_over_floor": wall / floor if floor else None,
        "speedup": _paired_speedup(runs, name, baseline),
        "speedup_vs_requests": _paired_speedup(runs, name, "requests-loop"),
        "cpu_us_per_record": median(r["cpu_s"] for r in mine) / records * 1e6,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
        # Figures from before the sandbox reported its CPU have none.
        "server_cpu_ms_per_page": (
            median(r["server_cpu_s"] for r in mine) / -(-records // PAGE_SIZE) * 1000
            if all("server_cpu_s" in r for r in mine)
            else None
        ),
    }


def memory(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per contender: RSS after its imports (before its first run) and the peak RSS at each size."""
    table: dict[str, dict[str, Any]] = {}
    for run in figures["runs"]:  # in the order they ran
        entry = table.setdefault(run["contender"], {"after_imports_mb": run["rss_before_mb"], "peak_mb": {}})
        peaks = entry["peak_mb"]
        peaks[run["records"]] = max(peaks.get(run["records"], 0.0), run["peak_rss_mb"])
    return table


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _runs_text(group: list[dict[str, Any]]) -> str:
    most = max(r["reps"] for r in group)
    fewer: dict[int, list[str]] = {}
    for r in group:
        if r["reps"] < most:
            fewer.setdefault(r["reps"], []).append(f"`{r['contender']}`")
    text = f"median of {most} alternating runs"
    if fewer:  # each count named with its contenders, should they differ
        counts = [f"{', '.join(names)}: {n} run{'s' if n > 1 else ''}" for n, names in sorted(fewer.items())]
        text += f" ({'; '.join(counts)})"
    return text


def render(figures: dict[str, Any]) -> str:
    """Markdown tables, one per (records, latency)."""
    rows = summarize(figures)
    baseline = baseline_of(figures)
    out: list[str] = []
    for records, latency in sorted({(r["records"], r["latency_ms"]) for r in rows}, reverse=True):
        group = [r for r in rows if (r["records"], r["latency_ms"]) == (records, latency)]
        pages = -(-records // PAGE_SIZE)
        out += [
            f"**{records:,} records ({pages} pages of {PAGE_SIZE}), {latency} ms per request**, "
            f"{_runs_text(group)}; speed-up = paired median against `{baseline}`",
            "",
            "| contender | wall (s) | records/s | floor (s) | wall / floor | speed-up "
            "| CPU µs/record | peak RSS (MB) | sandbox CPU ms/page |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        out += [_table_row(r) for r in group]
        out.append("")
    for name, reason in figures["skipped"].items():
        out.append(f"- `{name}`: n/a, {reason}.")
    return "\n".join(out).rstrip() + "\n"


def _table_row(r: dict[str, Any]) -> str:
    return (
        f"| {LABELS[r['contender']]} (`{r['contender']}`) | {r['wall_s']:.2f} | {r['records_per_s']:,.0f} "
        f"| {_fmt(r['floor_s'] or None, '.2f')} | {_fmt(r['wall_over_floor'], '.2f', 'x')} "
        f"| {_fmt(r['speedup'], '.2f', 'x')} | {r['cpu_us_per_record']:.1f} | {r['peak_rss_mb']:.0f} "
        f"| {_fmt(r.get('server_cpu_ms_per_page'), '.2f')} |"
    )


def render_scale(figures: dict[str, Any]) -> str:
    """Wall time at the highest latency and peak RSS, by size."""
    rows = summarize(figures)
    sizes = sorted({r["records"] for r in rows})
    latency = max(r["latency_ms"] for r in rows)
    walls = {(r["contender"], r["records"]): r["wall_s"] for r in rows if r["latency_ms"] == latency}
    mem = memory(figures)
    head = " | ".join(f"{n:,}: wall (s) / peak RSS (MB)" for n in sizes)
    lines = [
        f"Wall time at {latency} ms per request (median) and peak RSS of the extracting process (highest "
        "of its runs at that size). Each contender's process ran the sizes smallest first, so a peak "
        "that stays level means memory does not grow with the number of records.",
        "",
        f"| contender | RSS after imports (MB) | {head} |",
        "|---|---:|" + "---:|" * len(sizes),
    ]
    for name in ALL_CONTENDERS:
        if name not in mem:
            continue
        cells = [
            f"{walls[(name, n)]:.2f} / {mem[name]['peak_mb'][n]:.0f}" if (name, n) in walls else "-"
            for n in sizes
        ]
        lines.append(f"| `{name}` | {mem[name]['after_imports_mb']:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
