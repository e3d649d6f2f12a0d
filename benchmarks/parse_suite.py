"""Scenario 4: what the provider adds to DAG parsing.

Airflow parses DAG files continuously, so a provider's top-level imports are paid again and again.
Every figure comes from a fresh interpreter (``python -m benchmarks.parse_suite CHILD``):

* ``imports GROUP``: ``import airflow.sdk`` (the baseline every DAG file pays), then the
  provider's operator, sensor or transfer modules (or all of them) on top;
* ``dagbag``: ``airflow.sdk`` and ``DagBag`` imported (as in the DAG processor), then a
  ``DagBag`` over ``dags_examples/``, with the time of each file;
* ``importtime``: ``-X importtime`` of all the provider modules on top of ``airflow.sdk``: which
  imports the provider pulls in, heaviest first.

The children alternate (rotated order every repetition); medians are reported.
"""

from __future__ import annotations

import functools
import importlib
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.harness import ROOT, alternate, emit, median, run_module

MODULE = "benchmarks.parse_suite"
GROUPS: dict[str, tuple[str, ...]] = {
    "operators": (
        "airflow_provider_smartarena.operators.users",
        "airflow_provider_smartarena.operators.courses",
        "airflow_provider_smartarena.operators.org",
        "airflow_provider_smartarena.operators.sync",
    ),
    "sensors": ("airflow_provider_smartarena.sensors.activity",),
    "transfers": (
        "airflow_provider_smartarena.transfers.usercourses_to_sql",
        "airflow_provider_smartarena.transfers.resources_to_sql",
    ),
}
GROUPS["all"] = tuple(m for group in ("operators", "sensors", "transfers") for m in GROUPS[group])
DAGS_FOLDER = ROOT / "dags_examples"
MARK = "BENCH-IMPORTS-START"


# ---------------------------------------------------------------------- children


def _timed_import(*modules: str) -> float:
    start = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    return time.perf_counter() - start


def child_imports(group: str) -> dict[str, Any]:
    sdk = _timed_import("airflow.sdk")
    before = len(sys.modules)
    provider = _timed_import(*GROUPS[group])
    return {"sdk_s": sdk, "provider_s": provider, "modules_added": len(sys.modules) - before}


def _dagbag_class() -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag


def child_dagbag() -> dict[str, Any]:
    sdk = _timed_import("airflow.sdk")
    start = time.perf_counter()
    dagbag_class = _dagbag_class()
    dagbag_import = time.perf_counter() - start
    start = time.perf_counter()
    bag = dagbag_class(dag_folder=str(DAGS_FOLDER), safe_mode=False)
    parse = time.perf_counter() - start
    return {
        "sdk_s": sdk,
        "dagbag_import_s": dagbag_import,
        "parse_s": parse,
        "dags": len(bag.dags),
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "import_errors": len(bag.import_errors),
        "files": {s.file.rsplit("/", 1)[-1]: s.duration.total_seconds() for s in bag.dagbag_stats},
    }


def child_importtime() -> None:
    importlib.import_module("airflow.sdk")
    sys.stderr.write(f"import time: {MARK}\n")
    sys.stderr.flush()
    _timed_import(*GROUPS["all"])


CHILDREN: dict[str, Callable[[], dict[str, Any]]] = {
    **{f"imports-{group}": functools.partial(child_imports, group) for group in GROUPS},
    "dagbag": child_dagbag,
}


# ---------------------------------------------------------------------- driver


def _env(home: str) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }


def heaviest_imports(stderr: str, top: int = 8) -> list[dict[str, Any]]:
    """From ``-X importtime`` output after the mark: the modules the provider's own modules import
    directly (outside the provider), by cumulative time, heaviest first."""
    entries: list[tuple[int, str, int]] = []  # (depth, module, cumulative µs), in print order
    for line in stderr.split(MARK, 1)[-1].splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        entries.append((depth, name.strip(), int(parts[1])))
    direct: list[dict[str, Any]] = []
    for index, (depth, name, cumulative) in enumerate(entries):
        parent = next((n for d, n, _ in entries[index + 1 :] if d == depth - 1), None)
        if name.startswith("airflow_provider_smartarena") or parent is None:
            continue
        if parent.startswith("airflow_provider_smartarena"):
            direct.append({"module": name, "imported_by": parent, "ms": cumulative / 1000})
    return sorted(direct, key=lambda d: d["ms"], reverse=True)[:top]


def _importtime(home: str) -> list[dict[str, Any]]:
    import subprocess

    from benchmarks.harness import _child_env

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", MODULE, "importtime"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_env(_env(home)),
        timeout=600,
        check=True,
    )
    return heaviest_imports(done.stderr)


def run(
    reps: int, log: Callable[[str], None] = print, *, children: Sequence[str] = (), importtime: bool = True
) -> dict[str, Any]:
    """``reps`` rounds of every child (or of ``children``), then one ``-X importtime`` run."""
    names = list(children or CHILDREN)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="smartarena-bench-home-") as home:
        for rep in range(reps):
            for name in alternate(names, rep):
                samples[name].append(run_module(MODULE, [name], env=_env(home), timeout=600))
            log(f"  parse cost: rep {rep + 1}/{reps} done")
        heaviest = _importtime(home) if importtime else []
    return {"reps": reps, "samples": samples, "heaviest": heaviest}


def summarize(figures: dict[str, Any]) -> dict[str, Any]:
    samples = figures["samples"]
    sdk = [s["sdk_s"] for runs in samples.values() for s in runs]
    groups = {
        name.removeprefix("imports-"): {
            "provider_s": median(s["provider_s"] for s in runs),
            "modules_added": runs[0]["modules_added"],
        }
        for name, runs in samples.items()
        if name.startswith("imports-")
    }
    summary: dict[str, Any] = {"sdk_s": median(sdk), "groups": groups}
    bags = samples.get("dagbag")
    if bags:
        summary.update(
            dagbag_import_s=median(b["dagbag_import_s"] for b in bags),
            parse_s=median(b["parse_s"] for b in bags),
            dags=bags[0]["dags"],
            tasks=bags[0]["tasks"],
            import_errors=max(b["import_errors"] for b in bags),
            files={f: median(b["files"].get(f, 0.0) for b in bags) for f in bags[0]["files"]},
        )
    return summary


def render(figures: dict[str, Any]) -> str:
    s = summarize(figures)
    sdk_ms = s["sdk_s"] * 1000
    lines = [
        f"Fresh interpreters, median of {figures['reps']} alternating runs each.",
        "",
        "| import | time (ms) | on top of `airflow.sdk` | modules added |",
        "|---|---:|---:|---:|",
        f"| `import airflow.sdk` alone (baseline of every DAG file) | {sdk_ms:.0f} | - | - |",
    ]
    for group, g in s["groups"].items():
        ms = g["provider_s"] * 1000
        lines.append(
            f"| + the provider's {group} modules | {sdk_ms + ms:.0f} | +{ms:.0f} ({100 * ms / sdk_ms:.0f}%) "
            f"| {g['modules_added']} |"
        )
    if "parse_s" in s:
        lines += ["", *_dagbag_lines(s)]
    if figures["heaviest"]:
        lines += [
            "",
            "Heaviest modules the provider imports directly, beyond `airflow.sdk` (`-X importtime`):",
        ]
        lines += ["", "| module | imported by | cumulative (ms) |", "|---|---|---:|"]
        lines += [f"| `{h['module']}` | `{h['imported_by']}` | {h['ms']:.0f} |" for h in figures["heaviest"]]
    return "\n".join(lines) + "\n"


def _dagbag_lines(s: dict[str, Any]) -> list[str]:
    lines = [
        f"`DagBag` of `dags_examples/` ({len(s['files'])} files, {s['dags']} DAGs, {s['tasks']} tasks, "
        f"{s['import_errors']} import errors), after `airflow.sdk` and `DagBag` are imported (as in the DAG "
        f"processor): **{s['parse_s'] * 1000:.0f} ms** in all. The first file to import the provider's "
        "transfers pays their imports; the files after it find them loaded.",
        "",
        "| file | parse time (ms) |",
        "|---|---:|",
    ]
    return lines + [f"| `{name}` | {seconds * 1000:.0f} |" for name, seconds in s["files"].items()]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["importtime"]:
        child_importtime()
        return 0
    import logging

    logging.disable(logging.WARNING)
    emit(CHILDREN[args[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
