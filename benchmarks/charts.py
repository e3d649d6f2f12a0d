"""PNG charts of the figures (matplotlib, present only in the benchmark environment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import extract_suite, parse_suite, sync_suite

COLOURS = {
    "httphook-loop": "#9e9e9e",
    "requests-loop": "#bdbdbd",
    "dlt": "#ffb74d",
    "transfer-seq": "#64b5f6",
    "transfer-conc": "#1565c0",
    "fetch-conc": "#80cbc4",
    "fetch-typed": "#4db6ac",
    "bytes-conc": "#c5e1a5",
    "transfer-pg": "#6a1b9a",
    "transfer-mariadb": "#ad1457",
    "dlt-pg": "#e65100",
}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> bool:
    """Write ``fig`` to ``path`` and free it; True, for the chart functions to return."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return True


def draw_all(figures: dict[str, Any], folder: Path, prefix: str = "benchmarks") -> dict[str, str]:
    """Draw every chart the figures allow as ``<prefix>_<chart>.png``; return {chart: file name}
    (empty without matplotlib)."""
    if not available():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, str] = {}
    for key, draw in (
        ("extraction", extraction),
        ("scale", scale),
        ("sync", sync),
        ("parse", parse),
    ):
        if figures.get(key if key != "scale" else "extraction"):
            name = f"{prefix}_{key}.png"
            if draw(figures, folder / name):
                drawn[key] = name
    return drawn


def extraction(figures: dict[str, Any], path: Path) -> bool:
    rows = extract_suite.summarize(figures["extraction"])
    largest = max(r["records"] for r in rows)
    latencies = sorted({r["latency_ms"] for r in rows if r["records"] == largest}, reverse=True)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(latencies), figsize=(6 * len(latencies), 3.8), squeeze=False)
    for ax, latency in zip(axes[0], latencies, strict=True):
        group = [r for r in rows if (r["records"], r["latency_ms"]) == (largest, latency)]
        names = [r["contender"] for r in group]
        ax.barh(names, [r["wall_s"] for r in group], color=[COLOURS[n] for n in names])
        for index, r in enumerate(group):
            if r["floor_s"]:
                ax.plot([r["floor_s"]] * 2, [index - 0.4, index + 0.4], color="black", linewidth=2)
        ax.invert_yaxis()
        ax.set_xlabel("wall time (s), median; black mark: floor = pages x latency / concurrency")
        ax.set_title(f"{largest:,} usercourses, {latency} ms per request")
    return _save(fig, path)


def scale(figures: dict[str, Any], path: Path) -> bool:
    rows = extract_suite.summarize(figures["extraction"])
    memory = extract_suite.memory(figures["extraction"])
    sizes = sorted({r["records"] for r in rows})
    if len(sizes) < 2:
        return False
    latency = max(r["latency_ms"] for r in rows)
    plt = _pyplot()
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(12, 4))
    for name in extract_suite.ALL_CONTENDERS:
        mine = sorted(
            (r for r in rows if r["contender"] == name and r["latency_ms"] == latency), key=_records
        )
        if len(mine) < 2:
            continue
        x = [r["records"] for r in mine]
        time_ax.plot(x, [r["wall_s"] for r in mine], marker="o", label=name, color=COLOURS[name])
        peaks = memory[name]["peak_mb"]
        rss_ax.plot(x, [peaks[n] for n in x], marker="o", label=name, color=COLOURS[name])
    time_ax.set(xlabel="records", ylabel="wall time (s)", title=f"Extraction time, {latency} ms per request")
    rss_ax.set(xlabel="records", ylabel="peak RSS (MB)", title="Peak memory of the extracting process")
    rss_ax.set_ylim(bottom=0)
    time_ax.legend(fontsize=8)
    return _save(fig, path)


def _records(row: dict[str, Any]) -> int:
    return int(row["records"])


def sync(figures: dict[str, Any], path: Path) -> bool:
    rows = sync_suite.summarize(figures["sync"])
    latency = max(r["latency_ms"] for r in rows)
    group = [r for r in rows if r["latency_ms"] == latency]
    plt = _pyplot()
    fig, (time_ax, write_ax) = plt.subplots(1, 2, figsize=(10, 3))
    names = [r["contender"] for r in group]
    seconds = time_ax.barh(names, [r["seconds"] for r in group], color="#1565c0")
    writes = write_ax.barh(names, [r["write_calls"] for r in group], color="#ffb74d")
    time_ax.bar_label(seconds, fmt="%.1f s", padding=3, fontsize=8)
    write_ax.bar_label(writes, fmt="{:,.0f}", padding=3, fontsize=8)
    for ax in (time_ax, write_ax):
        ax.margins(x=0.2)
    time_ax.set(
        xlabel="wall time (s)", title=f"Provisioning {figures['sync']['users']:,} users, {latency} ms"
    )
    write_ax.set(xlabel="write calls", title="Write calls made")
    for ax in (time_ax, write_ax):
        ax.invert_yaxis()
    return _save(fig, path)


def parse(figures: dict[str, Any], path: Path) -> bool:
    s = parse_suite.summarize(figures["parse"])
    labels = ["airflow.sdk alone"] + [f"+ {group}" for group in s["groups"]]
    sdk = s["sdk_s"] * 1000
    extra = [0.0] + [g["provider_s"] * 1000 for g in s["groups"].values()]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.barh(labels, [sdk] * len(labels), color="#bdbdbd", label="import airflow.sdk")
    ax.barh(labels, extra, left=[sdk] * len(labels), color="#1565c0", label="the provider's modules on top")
    ax.invert_yaxis()
    ax.set(xlabel="import time in a fresh interpreter (ms), median", title="DAG parse cost of the provider")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    return _save(fig, path)
