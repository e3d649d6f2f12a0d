"""The provider's performance targets, each judged against the measured figures.

Every target restates a requirement of the project's issue tracker (``issues show N``; N is the
verdict's ``issue`` column): extraction speed and CPU against the network floor, memory that stays
flat as the data grows, hook streaming and sync throughput.

Each verdict is ``met``, ``not met`` or ``not measured``; where a target is not met, the gap is
explained from the figures themselves and a follow-up is proposed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_smartarena.transfers._loader import DEFAULT_BATCH_SIZE
from benchmarks import extract_suite, hook_suite, sync_suite
from benchmarks.extract_suite import PAGE_SIZE

#: How much the peak resident memory may rise from the smaller run to the larger for memory to count
#: as not growing (the hook's streaming requirement, issue 3; the extraction's, issue 5, reuses it).
RSS_FLAT_MB = 20.0
#: The number of records at which the extraction's speed and CPU targets are stated (issue 5); the
#: verdicts use the figures at this size when the run measured it, else the largest size it did.
ISSUE_RECORDS = 100_000


@dataclass
class Verdict:
    target: str
    issue: str
    measured: str
    met: bool | None  # None: not measured in this run
    gap: str = ""
    follow_up: str = ""

    @property
    def label(self) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[self.met]


def _explained(verdict: Verdict, gap: str, follow_up: str) -> Verdict:
    """``verdict`` with why its target is missed and what to try next, when it is missed."""
    if verdict.met is False:
        verdict.gap, verdict.follow_up = gap, follow_up
    return verdict


def _rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return extract_suite.summarize(figures["extraction"]) if figures.get("extraction") else []


def _pick(rows: list[dict[str, Any]], contender: str, latency: int) -> dict[str, Any] | None:
    """The contender's row at this latency: at the issue's size if measured, else the largest."""
    mine = [r for r in rows if r["contender"] == contender and r["latency_ms"] == latency]
    at_issue = [r for r in mine if r["records"] == ISSUE_RECORDS]
    if at_issue:
        return at_issue[0]
    return max(mine, key=lambda r: r["records"]) if mine else None


def _ms_per_page(row: dict[str, Any]) -> float:
    return row["wall_s"] / (row["records"] / PAGE_SIZE) * 1000


# ---------------------------------------------------------------------- extraction (issues 5, 8)


def extraction_speedup(figures: dict[str, Any]) -> Verdict:
    rows = _rows(figures)
    target = "Extraction at 20 ms: >= 3x faster than the HttpOperator-style loop + insert_rows"
    conc = _pick(rows, "transfer-conc", 20)
    if conc is None or conc["speedup"] is None:
        return Verdict(target, "#5, #8", "-", None)
    baseline = extract_suite.baseline_of(figures["extraction"])
    measured = f"{conc['speedup']:.2f}x vs `{baseline}` at {conc['records']:,} records"
    if conc.get("speedup_vs_requests") and baseline != "requests-loop":
        measured += f" ({conc['speedup_vs_requests']:.2f}x vs the plain `requests` loop)"
    verdict = Verdict(target, "#5, #8", measured, conc["speedup"] >= 3)
    if not verdict.met:
        verdict.gap = _speedup_gap(rows, conc, baseline)
        verdict.follow_up = (
            "The same server-side limit as the floor target below, and the same follow-up; the loader's CPU "
            "(see the CPU target) is the part of the gap that is the provider's own."
        )
    return verdict


def _speedup_gap(rows: list[dict[str, Any]], conc: dict[str, Any], baseline: str) -> str:
    base = _pick(rows, baseline, 20)
    fetch = _pick(rows, "fetch-conc", 20)
    assert base is not None
    gap = (
        f"The loop takes {_ms_per_page(base):.0f} ms a page (20 ms of it latency, the rest the sandbox "
        f"rendering the page and the loop's own work), the transfer {_ms_per_page(conc):.0f} ms."
    )
    if fetch:
        gap += (
            f" The hook's paging alone, with no database, takes {_ms_per_page(fetch):.0f} ms a page at the "
            f"same concurrency: against this sandbox, on the same 2 cores as the client, no client with "
            f"that many pages in flight can be more than {base['wall_s'] / fetch['wall_s']:.1f}x faster than "
            f"the loop; the transfer's own work (rows, upserts) takes the rest."
        )
    return gap


def extraction_floor(figures: dict[str, Any]) -> Verdict:
    rows = _rows(figures)
    target = "Extraction at 20 ms: within 1.5x of the floor (pages x latency / concurrency)"
    conc = _pick(rows, "transfer-conc", 20)
    if conc is None:
        return Verdict(target, "#5", "-", None)
    concurrency = figures["extraction"]["concurrency"]
    seq = _pick(rows, "transfer-seq", 20)
    measured = f"{conc['wall_over_floor']:.2f}x at concurrency {concurrency}"
    if seq:
        measured += f"; sequential {seq['wall_over_floor']:.2f}x"
    measured += f" ({conc['records']:,} records)"
    verdict = Verdict(target, "#5", measured, conc["wall_over_floor"] <= 1.5)
    if not verdict.met:
        verdict.gap, verdict.follow_up = _floor_gap(rows, conc, concurrency)
    return verdict


def _floor_gap(rows: list[dict[str, Any]], conc: dict[str, Any], concurrency: int) -> tuple[str, str]:
    fetch = _pick(rows, "fetch-conc", 20)
    raw = _pick(rows, "bytes-conc", 20)
    parts = [
        f"The floor counts only the injected latency ({conc['floor_s']:.2f} s); it assumes the server "
        "answers in no time and the client costs nothing."
    ]
    if raw:
        parts.append(
            f"A client that only reads the bytes at the same concurrency (`bytes-conc`) takes "
            f"{raw['wall_s']:.2f} s ({raw['wall_s'] / conc['floor_s']:.2f}x the floor): that is what the "
            "sandbox, rendering pages on one event loop on the client's 2 cores, allows any client; the "
            f"transfer takes {conc['wall_s'] / raw['wall_s']:.2f}x that."
        )
    if conc.get("server_cpu_ms_per_page") is not None:
        parts.append(
            f"The sandbox spends {conc['server_cpu_ms_per_page']:.2f} ms of CPU a page during the "
            "transfer (its records cached, see the warm-up): each request queues behind the others' "
            "on its one event loop, on top of the 20 ms."
        )
    per_page_ms = conc["cpu_us_per_record"] * extract_suite.PAGE_SIZE / 1000
    allowed_ms = conc["latency_ms"] / concurrency
    parts.append(
        f"The client's own CPU bounds it too: a page costs the transfer {per_page_ms:.1f} ms of CPU, "
        f"mostly under the GIL, and the floor asks for a page every {allowed_ms:.1f} ms, so the wall "
        f"time stays near {per_page_ms / allowed_ms:.2f}x the floor or above until the CPU per record falls."
    )
    if fetch:
        parts.append(
            f"The hook's paging alone, without any database, takes {fetch['wall_s']:.2f} s "
            f"({fetch['wall_s'] / conc['floor_s']:.2f}x the floor); the transfer adds "
            f"{100 * (conc['wall_s'] / fetch['wall_s'] - 1):+.0f}% to it (rows, upserts)."
        )
    follow_up = (
        "Measure against a sandbox on another host (or a machine with cores to spare: pinning the "
        "sandbox to one of these 2 cores and the client to the other was tried and made every contender "
        "slower), where the latency dominates as it does with the real service; cut the client's CPU "
        f"per record (next target below); consider `max_concurrency` above {concurrency} once the real "
        "service's rate limits are known (the floor scales with it)."
    )
    return " ".join(parts), follow_up


def extraction_cpu(figures: dict[str, Any]) -> Verdict:
    rows = _rows(figures)
    target = "Extraction CPU < 50 µs per record (client side)"
    found = [r for r in (_pick(rows, n, 20) for n in ("transfer-seq", "transfer-conc")) if r]
    if not found:
        return Verdict(target, "#5", "-", None)
    worst = max(r["cpu_us_per_record"] for r in found)
    measured = ", ".join(f"`{r['contender']}` {r['cpu_us_per_record']:.1f} µs" for r in found)
    measured += f" at {found[0]['records']:,} records, 20 ms"
    verdict = Verdict(target, "#5", measured, worst < 50)
    if not verdict.met:
        fetch = _pick(rows, "fetch-conc", 20)
        base = _pick(rows, extract_suite.baseline_of(figures["extraction"]), 20)
        gap = []
        if fetch:
            gap.append(
                f"For scale: the hook's paging alone (`fetch-conc`: records decoded into dicts, no "
                f"database) costs {fetch['cpu_us_per_record']:.1f} µs a record; the transfer decodes "
                "pages straight into typed records instead (JSON columns kept as the server's text), "
                "then builds rows and upserts them."
            )
        if base:
            gap.append(f"The loop a user writes costs {base['cpu_us_per_record']:.1f} µs a record.")
        gap.append("CPU time is inflated when the machine is loaded (shared caches, other processes).")
        verdict.gap = " ".join(gap)
        verdict.follow_up = (
            "Profiled (30 November 2026, AMD EPYC; one thread, per record at 100k): SQLite's upsert "
            "16-18 µs (binding 36 values, some 6 of them NULL and several non-ASCII texts, is about "
            "half; the journal mode, synchronous, a larger cache and 5000-row transactions do not "
            "change it), the request through requests ~11-14 µs (urllib3's pool alone ~6, "
            "http.client ~3), typed decoding 3.6-5 µs, row building 5-7 µs; with the page threads "
            "and the writer sharing the GIL it adds up to the figure above, which on this VM ranged "
            "41-63 µs in alternating runs within one hour. Adopted: JSON columns "
            "decoded as raw text (77 to 53 µs); since 8 December each exchange goes out on the "
            "session's own urllib3 pool (`hooks/_wire.py`: the adapter still decides TLS and "
            "proxies, response hooks run, errors are requests' own, a customised session goes "
            "through `Session.request`): a page request's CPU about 1,100 -> 600 µs, `fetch-typed` "
            "-15 % CPU a record at 200k. Tried and not kept: loading whole pages "
            "with SQLite's json_each (125 µs a row); freezing or disabling the garbage collector "
            "(no change); multi-row INSERT statements; COPY text lines built in Python for "
            "PostgreSQL (twice psycopg's C `write_row`). Next: fewer GIL hand-offs (the writer "
            "and the page threads)."
        )
    return verdict


def extraction_memory(figures: dict[str, Any]) -> Verdict:
    target = f"Extraction peak memory flat from 20k to 200k records (< {RSS_FLAT_MB:.0f} MB apart)"
    if not figures.get("extraction"):
        return Verdict(target, "#5", "-", None)
    peaks = extract_suite.memory(figures["extraction"]).get("transfer-conc", {}).get("peak_mb", {})
    # Below two batches the transfer has not yet filled what it holds at most (a batch of rows to
    # write and up to a batch of records read ahead): growth there is the bound filling up.
    steady = 2 * DEFAULT_BATCH_SIZE
    sizes = sorted(n for n in peaks if n >= steady)
    if len(sizes) < 2:
        return Verdict(
            target,
            "#5",
            f"sizes measured: {', '.join(f'{n:,}' for n in sorted(peaks))}; the transfer holds up to two "
            f"batches, so growth is judged from {steady:,} records on (`make bench-full`: 20k to 200k)",
            None,
        )
    small, large = peaks[sizes[0]], peaks[sizes[-1]]
    delta = large - small
    measured = (
        f"transfer (default concurrency) peak RSS {small:.0f} MB at {sizes[0]:,} and {large:.0f} MB at "
        f"{sizes[-1]:,} records ({delta:+.1f} MB)"
    )
    growth = _growth(extract_suite.memory(figures["extraction"]), sizes[0], sizes[-1])
    measured += "".join(f"; `{name}` {mb:+.1f} MB" for name, mb in growth.items())
    if sizes[-1] < 200_000:
        measured += "; the issue's 200k is measured by `make bench-full`"
    verdict = Verdict(target, "#5", measured, delta < RSS_FLAT_MB)
    if not verdict.met:
        verdict.gap, verdict.follow_up = _memory_gap(growth, delta)
    return verdict


def _growth(memory: dict[str, dict[str, Any]], small: int, large: int) -> dict[str, float]:
    """Peak RSS at ``large`` minus at ``small`` for the sequential transfer and the paging alone."""
    out = {}
    for name in ("transfer-seq", "fetch-conc"):
        peaks = memory.get(name, {}).get("peak_mb", {})
        if small in peaks and large in peaks:
            out[name] = peaks[large] - peaks[small]
    return out


def _memory_gap(growth: dict[str, float], delta: float) -> tuple[str, str]:
    seq, fetch = growth.get("transfer-seq"), growth.get("fetch-conc")
    if seq is None or fetch is None or seq >= RSS_FLAT_MB or fetch < delta / 2:
        return (
            "Peak RSS grows with the number of records.",
            "Trace the transfer at both sizes (`benchmarks/extraction.py --trace-memory` for Python's heap).",
        )
    gap = (
        "The sequential transfer stays level; the concurrent one grows about as much as the hook's "
        "concurrent paging alone (`fetch-conc`), so the growth comes with fetching pages on several "
        "threads, not from the loader. `benchmarks/extraction.py --trace-memory` shows whether Python "
        "objects grow: when this page was first written, the peak Python heap was level (about 5 MB "
        "fetching 20k and 100k records), which points at the C allocator keeping what the threads' "
        "response buffers (160 KiB a page) freed; `MALLOC_ARENA_MAX=2` lowered the level but not the slope."
    )
    follow_up = (
        "Reuse one buffer per fetching thread or release memory between batches (`malloc_trim(0)` via "
        "ctypes on glibc) and re-measure 20k against 200k; until then, document that memory is level with "
        "`max_concurrency=1` and grows slowly (tens of MB per 100k records) with more."
    )
    return gap, follow_up


# ---------------------------------------------------------------------- hook (issue 3)


def hook_overhead(figures: dict[str, Any]) -> Verdict:
    target = "Hook streaming overhead over a bare requests loop < 10%"
    runs = figures.get("hook", {}).get("runs", [])
    if not runs:
        return Verdict(target, "#3", "-", None)
    measured = "; ".join(
        f"wall {100 * (r['wall_ratio'] - 1):+.1f}% (CPU {100 * (r['cpu_ratio'] - 1):+.1f}%) at "
        f"{r.get('latency_ms', 0)} ms, {r['activities']:,} records"
        for r in runs
    )
    return _explained(
        Verdict(target, "#3", measured, all(r["wall_ratio"] < 1.10 for r in runs)),
        gap=(
            "At 0 ms latency the server and the client share 2 cores, so the hook's extra CPU per page "
            "(envelope detection, page-repeat checks, token checks) shows almost fully in wall time."
        ),
        follow_up="Profile `iter_pages` at 0 ms and trim per-page work; re-measure on a quiet machine.",
    )


def hook_memory(figures: dict[str, Any]) -> Verdict:
    target = f"Hook peak RSS does not grow with records (< {RSS_FLAT_MB:.0f} MB apart)"
    runs = figures.get("hook", {}).get("runs", [])
    delta = hook_suite.rss_difference_mb(figures["hook"]) if runs else None
    if delta is None:
        return Verdict(target, "#3", "-", None)
    rss = runs[0]["rss"]
    measured = f"{delta:+.1f} MB between {rss['small']['records']:,} and {rss['large']['records']:,} records"
    if rss["large"]["records"] < 100_000:
        measured += "; the issue's 20k vs 100k is measured by `make bench-full`"
    return _explained(
        Verdict(target, "#3", measured, delta < RSS_FLAT_MB),
        gap="Peak RSS grows with the number of records streamed.",
        follow_up="Find what keeps records alive between pages (tracemalloc snapshots per page).",
    )


def hook_tokens(figures: dict[str, Any]) -> Verdict:
    target = "Exactly one token request per hook run"
    runs = figures.get("hook", {}).get("runs", [])
    if not runs:
        return Verdict(target, "#3", "-", None)
    seen = sorted({t for r in runs for t in r["tokens"]})
    return Verdict(target, "#3", f"token requests per run: {seen}", seen == [1])


# ---------------------------------------------------------------------- sync (issue 6)


def _sync_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return sync_suite.summarize(figures["sync"]) if figures.get("sync") else []


def sync_writes(figures: dict[str, Any]) -> Verdict:
    target = "Sync of 10,000 users, 1% changed: 1 read + ~100 writes, not 10,000"
    rows = [r for r in _sync_rows(figures) if r["contender"] == "sync"]
    if not rows:
        return Verdict(target, "#6", "-", None)
    r = rows[-1]
    users = figures["sync"]["users"]
    measured = f"{r['read_calls']} read + {r['write_calls']} writes for {r['changed']} changed of {users:,}"
    return Verdict(target, "#6", measured, r["read_calls"] == 1 and r["write_calls"] == r["changed"])


def sync_time(figures: dict[str, Any]) -> Verdict:
    target = "Sync of 10,000 users, 1% changed, at 20 ms: under 10 s"
    rows = [r for r in _sync_rows(figures) if r["contender"] == "sync" and r["latency_ms"] == 20]
    if not rows:
        return Verdict(target, "#6", "not run at 20 ms", None)
    r = rows[0]
    users = figures["sync"]["users"]
    verdict = Verdict(target, "#6", f"{r['seconds']:.2f} s for {users:,} users", r["seconds"] < 10)
    if users < 10_000:
        verdict.met = None
    return _explained(
        verdict,
        gap="The one read of all users or the plan dominates.",
        follow_up="Profile the plan step of `SmartArenaUserSyncOperator` at 10k users.",
    )


def sync_idempotent(figures: dict[str, Any]) -> Verdict:
    target = "A second sync with the same input makes no write calls"
    rows = [r for r in _sync_rows(figures) if r["contender"] == "sync (again)"]
    if not rows:
        return Verdict(target, "#6", "-", None)
    writes = max(r["write_calls"] for r in rows)
    return Verdict(target, "#6", f"{writes} write calls", writes == 0)


# ---------------------------------------------------------------------- warehouses (issue 22)

#: The transfer into each warehouse: SQLite (``transfer-conc``), PostgreSQL, MariaDB.
WAREHOUSE_CONTENDERS = {"SQLite": "transfer-conc", "PostgreSQL": "transfer-pg", "MariaDB": "transfer-mariadb"}


def _largest(rows: list[dict[str, Any]], contender: str, latency: int) -> dict[str, Any] | None:
    mine = [r for r in rows if r["contender"] == contender and r["latency_ms"] == latency]
    return max(mine, key=lambda r: r["records"]) if mine else None


def _warehouses(rows: list[dict[str, Any]], latency: int) -> dict[str, dict[str, Any]]:
    found = {name: _largest(rows, c, latency) for name, c in WAREHOUSE_CONTENDERS.items()}
    return {name: row for name, row in found.items() if row is not None}


def _against(
    reference: tuple[str, dict[str, Any]], found: dict[str, dict[str, Any]], key: str, value: str
) -> tuple[float, str]:
    """The largest ratio of a warehouse's ``key`` to the reference row's, and the measured text.

    :param reference: the name the reference goes by and its row.
    :param found: each warehouse's row, by name.
    :param value: how ``key``'s values read, a format string (e.g. ``"{:.2f} s"``).
    """
    name, row = reference
    ratios = {n: r[key] / row[key] for n, r in found.items()}
    measured = f"{name} {value.format(row[key])}; " + "; ".join(
        f"{n} {value.format(found[n][key])} ({ratio:.2f}x)" for n, ratio in ratios.items()
    )
    return max(ratios.values()), measured


#: The issue's sizes for the floor target; a run without them is judged at its largest size.
FLOOR_SIZES = (50_000, 200_000)


def warehouse_floor(figures: dict[str, Any]) -> Verdict:
    target = "Every warehouse at 20 ms: within 1.5x of the floor at the default concurrency"
    rows = [r for r in _rows(figures) if r["latency_ms"] == 20]
    sizes = (
        sorted({r["records"] for r in rows} & set(FLOOR_SIZES)) or sorted({r["records"] for r in rows})[-1:]
    )
    found = {
        (name, size): r
        for size in sizes
        for name, contender in WAREHOUSE_CONTENDERS.items()
        for r in rows
        if r["contender"] == contender and r["records"] == size
    }
    if len({name for name, _ in found}) < 2:
        return Verdict(target, "#22", "-", None)
    pages_alone = {r["records"]: r for r in rows if r["contender"] == "fetch-conc"}
    measured = "; ".join(
        f"{size:,} records: "
        + ", ".join(
            f"{name} {r['wall_over_floor']:.2f}x ({r['wall_s']:.2f} s)"
            for (name, s), r in found.items()
            if s == size
        )
        + (
            f" (the pages alone, `fetch-conc`: {pages_alone[size]['wall_over_floor']:.2f}x)"
            if size in pages_alone
            else ""
        )
        for size in sizes
    )
    return _explained(
        Verdict(target, "#22", measured, all(r["wall_over_floor"] <= 1.5 for r in found.values())),
        gap=(
            "SQLite itself is above the floor (see the extraction target of #5 and its gap): the "
            "fixed costs of a run, and a client, sandbox and database server sharing 2 cores; where "
            "reading the pages alone (`fetch-conc`) is near 1.5x, the sandbox's and the client's CPU "
            "on this machine is what limits, not the write. Where a warehouse is further above it, "
            "the database's work per batch outlasts the requests: see the next target."
        ),
        follow_up="`make bench-full` measures 50k and 200k records on a quiet machine.",
    )


def warehouse_vs_sqlite(figures: dict[str, Any]) -> Verdict:
    target = "At 0 ms: PostgreSQL and MariaDB within 1.3x of SQLite's wall time"
    found = _warehouses(_rows(figures), 0)
    sqlite = found.pop("SQLite", None)
    if sqlite is None or not found:
        return Verdict(target, "#22", "-", None)
    worst, measured = _against(("SQLite", sqlite), found, "wall_s", "{:.2f} s")
    return _explained(
        Verdict(target, "#22", measured + f" at {sqlite['records']:,} records", worst <= 1.3),
        gap=(
            "The database server runs on the same 2 cores as the client and the sandbox, on one "
            "thread per connection: its own work on each batch is wall time SQLite does not pay in "
            "process. MariaDB's is the larger (LOAD DATA of the batch into the stage, then the "
            "INSERT ... SELECT ... ON DUPLICATE KEY UPDATE: 17-30 µs a row of server time on this "
            "machine); two writers on two connections share it between the cores while the "
            "transfer builds the next batch. PostgreSQL's COPY and INSERT cost less than SQLite's "
            "in-process writes. `python -m benchmarks.warehouse_write` times the write path alone."
        ),
        follow_up=(
            "MariaDB: LOAD DATA straight into the target for a batch whose keys are all new (a "
            "first load), skipping the INSERT ... SELECT; measured alone it saved little here "
            "(direct load 31-40 µs a row against 27-41 µs for stage and upsert)."
        ),
    )


def warehouse_cpu(figures: dict[str, Any]) -> Verdict:
    target = "At 0 ms: CPU per record into PostgreSQL and MariaDB within 1.3x of the hook's paging alone"
    rows = _rows(figures)
    # The pages as the transfer reads them (typed records); `fetch-conc` decodes dicts, which
    # cost twice as much here, and would hide the write's cost in the ratio.
    fetch = _largest(rows, "fetch-typed", 0)
    found = {n: r for n, r in _warehouses(rows, 0).items() if n != "SQLite"}
    if not found:
        return Verdict(target, "#22", "-", None)
    if fetch is None:
        dicts = _largest(rows, "fetch-conc", 0)
        against = "" if dicts is None else ": " + _against(("`fetch-conc`", dicts), found, *_CPU)[1]
        return Verdict(
            target,
            "#22",
            "`fetch-typed` (the pages as the transfer reads them) not measured in these figures; "
            "against `fetch-conc`, which decodes dicts at twice the cost and so flatters the "
            f"ratio{against}",
            None,
        )
    worst, measured = _against(("`fetch-typed`", fetch), found, *_CPU)
    return _explained(
        Verdict(target, "#22", measured + _per_sandbox_cpu(fetch, found), worst <= 1.3),
        gap=(
            "Reading the pages the transfer's way is cheap (one C pass a page into typed records, "
            "the JSON columns kept as text): what the transfer adds costs more than the reading. "
            "It builds rows (about 3 µs a record), queues them (about 1 µs) and writes them: "
            "psycopg's C `write_row` 4-7 µs a row (36 columns, some 0.2 µs a value; COPY lines "
            "built in Python cost twice that); for the MySQL family msgspec writes the "
            "batch as JSON rows and its checks pass over the text (about 5 µs a row in parts of "
            "500 rows, `transfers/_bulk_text.py`), then mysql-connector's pure-Python protocol "
            "sends it; and the writer thread, the task's thread and the fetching threads share "
            "one GIL. Runs minutes apart on this machine differ by up to a quarter in CPU for the "
            "same work (the sandbox's CPU for the same pages moves with them): see the ratios per "
            "ms of it. The ratio grows as the reading gets cheaper: since 8 December a request "
            "costs about half its CPU before (requests' per-call machinery left out), and the "
            "same write is a larger multiple of it."
        ),
        follow_up=(
            "Fewer passes over the rows: rows built straight from the page (not struct, list, "
            "tuple), the per-record bookkeeping (bounds, statistics, the pending batch) in one "
            "loop; the JSON rows' checks (type check, escape search, NULL rewrite: three passes "
            "of about 1.5 µs a row each) in fewer passes; mysqlclient (C) for MariaDB."
        ),
    )


#: How the CPU targets read a row: its CPU per record, in µs.
_CPU = ("cpu_us_per_record", "{:.1f} µs")


def _per_sandbox_cpu(fetch: dict[str, Any], found: dict[str, dict[str, Any]]) -> str:
    """The same ratios with each contender's CPU taken per ms of the sandbox's CPU in its runs.

    Every contender is served the same pages, so the sandbox's CPU moves with the machine's speed
    at the time of the run (this VM's varies by a quarter within minutes); the ratio of the two
    is steadier than either (4 runs of each: within 3 % where the raw figures moved 25 %).
    """
    if any(not r.get("server_cpu_ms_per_page") for r in (fetch, *found.values())):
        return ""

    def per_ms(row: dict[str, Any]) -> float:
        return float(row["cpu_us_per_record"] / row["server_cpu_ms_per_page"])

    ratios = ", ".join(f"{n} {per_ms(r) / per_ms(fetch):.2f}x" for n, r in found.items())
    return f" (per ms of the sandbox's CPU for the same pages: {ratios})"


def warehouse_vs_dlt(figures: dict[str, Any]) -> Verdict:
    target = "At 20 ms: >= 3x faster than dlt loading the same API into the same PostgreSQL, the same rows"
    rows = _rows(figures)
    mine, theirs = _largest(rows, "transfer-pg", 20), _largest(rows, "dlt-pg", 20)
    if mine is None or theirs is None or mine["records"] != theirs["records"]:
        skipped = figures.get("extraction", {}).get("skipped", {}).get("dlt-pg")
        if skipped:
            return Verdict(target, "#22", f"`dlt-pg`: {skipped}", None)
        return Verdict(
            target, "#22", "`dlt-pg` runs in `make bench-full` (it would take the quick run over 5 min)", None
        )
    ratio = theirs["wall_s"] / mine["wall_s"]
    measured = (
        f"{ratio:.2f}x ({theirs['wall_s']:.2f} s against {mine['wall_s']:.2f} s, {mine['records']:,} "
        "records, both counted in the table after the run)"
    )
    return Verdict(target, "#22", measured, ratio >= 3)


def warehouse_memory(figures: dict[str, Any]) -> Verdict:
    target = f"Peak memory flat on every warehouse (< {RSS_FLAT_MB:.0f} MB apart, 20k to 200k records)"
    if not figures.get("extraction"):
        return Verdict(target, "#22", "-", None)
    memory = extract_suite.memory(figures["extraction"])
    steady = 2 * DEFAULT_BATCH_SIZE
    deltas = {}
    for name, contender in WAREHOUSE_CONTENDERS.items():
        peaks = {n: mb for n, mb in memory.get(contender, {}).get("peak_mb", {}).items() if n >= steady}
        if len(peaks) >= 2:
            deltas[name] = (min(peaks), max(peaks), peaks[max(peaks)] - peaks[min(peaks)])
    if not deltas:
        return Verdict(target, "#22", "one size measured (`make bench-full` measures 20k to 200k)", None)
    measured = "; ".join(f"{n} {d:+.1f} MB ({a:,} to {b:,})" for n, (a, b, d) in deltas.items())
    return Verdict(target, "#22", measured, all(d < RSS_FLAT_MB for _, _, d in deltas.values()))


CHECKS: tuple[Callable[[dict[str, Any]], Verdict], ...] = (
    extraction_speedup,
    extraction_floor,
    extraction_cpu,
    extraction_memory,
    warehouse_floor,
    warehouse_vs_sqlite,
    warehouse_cpu,
    warehouse_vs_dlt,
    warehouse_memory,
    hook_overhead,
    hook_memory,
    hook_tokens,
    sync_writes,
    sync_time,
    sync_idempotent,
)


def judge(figures: dict[str, Any]) -> list[Verdict]:
    return [check(figures) for check in CHECKS]
