"""``docs/benchmarks.md`` from the figures: targets first, then every scenario's tables and charts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from benchmarks import extract_suite, hook_suite, parse_suite, sync_suite
from benchmarks.targets import Verdict, judge

COMMANDS = {"quick": "make bench", "full": "make bench-full"}
REPRODUCE = """\
```sh
make bench        # quick, a few minutes (this run's time is under Machine): docs/benchmarks.md
make bench-full   # the issues' sizes (20k, 50k, 200k records), 45-65 minutes: docs/benchmarks-full.md
```

Charts go to `docs/images/<page>_*.png`.

Both build `.venv-bench` first: the pins of `uv.lock` plus `benchmarks/requirements.txt` (dlt,
matplotlib, the HTTP provider), which never enter the provider's own environment. Without them the
harness still runs (`.venv/bin/python -m benchmarks --mode quick`), marking dlt and the HttpHook
loop n/a and drawing no charts. `--render-only .bench/figures-quick.json` rewrites the page from
the last figures; `--only extraction,hook,sync,parse` runs a subset (a narrowed run's figures go to
`.bench/figures-<mode>-narrowed.json`, beside the whole run's).
"""

METHOD = """\
- Every scenario starts its own sandbox (`airflow_provider_smartarena.sandbox.testing.run_sandbox`,
  a separate process) with the data size and the latency per request named in its table, on the
  same machine as the client.
- Contenders run alternately in the same script (the order rotates every repetition) and the
  tables show medians; ratios are medians of the per-repetition ratios, so the machine's drift
  between repetitions cancels out. The machine is shared, so absolute times are noisy: the ratios
  are what count.
- Extraction: each contender has its own process, which imports what it uses once (as a task does
  after its DAG file is parsed) and then runs one extraction per repetition into a new SQLite file.
  CPU is that process's user + system time during the extraction (the sandbox is another
  process); peak RSS is the process's high-water mark during the run (reset before each run to
  the RSS at that moment, which includes what earlier runs left allocated). Sizes run smallest
  first. Airflow's import alone is about 125 MB of it.
- The extraction sandbox holds `records / 50 + 1` users and 50 courses, serves 100 records a page
  in the Laravel envelope, course modules included (the API's default). Contenders:
  - `httphook-loop`: `HttpHook.run` for the token and for each page (like `HttpOperator`: a new
    `requests.Session` and a connection lookup per call), every row kept in a list, then
    `DbApiHook.insert_rows` (SQLite, `replace=True`, a commit every 1000 rows);
  - `requests-loop`: the same loop on one `requests.Session` (`benchmarks/extraction.py`);
  - `dlt`: `rest_api_source` with `oauth2_client_credentials` auth and the `page_number` paginator
    (`base_page=1`, `total_path="last_page"`, `data_selector="data"`), merge on the natural key,
    nested lists kept as JSON (`max_table_nesting=0`), into the same kind of SQLite file through
    the `sqlalchemy` destination; a fresh pipeline each run (its extract, normalize and load steps);
  - `transfer-seq`, `transfer-conc`: `SmartArenaUserCoursesToSqlOperator.execute()` on an empty
    database (a first incremental run reads everything), `max_concurrency=1` and the default;
  - `fetch-conc`: `SmartArenaHook.iter_user_course_pages()` at the transfer's default concurrency,
    records counted, nothing stored: the hook's share, for reference;
  - `fetch-typed`: the same, each page decoded into the transfer's typed records (JSON columns
    kept as the server's text), as the transfer reads them: the reading in the transfer's CPU;
  - `bytes-conc`: every page read as bytes with `http.client` at the same concurrency, only page 1
    parsed: what this server, on these cores, allows any client;
  - `transfer-pg`, `transfer-mariadb`: `transfer-conc` into PostgreSQL and MariaDB on 127.0.0.1
    (the servers CI starts, on the same 2 cores), each run into a new schema (database), created
    before the clock starts and dropped after it stops;
  - `dlt-pg`: `dlt` into the same PostgreSQL through its native `postgres` destination (a new
    dataset, i.e. schema, each run).
- The floor is pages x latency / concurrency: what the injected latency alone costs, with a server
  that answers in no time. The sandbox keeps the records it has rendered (as a server caches), and
  every page is read once before a size is measured, so no contender pays for first renderings.
- Hook streaming runs `benchmarks/hook_streaming.py` (without course modules); provisioning runs
  `benchmarks/sync.py` (sync, the same sync again, then the PUT-everything loop, in that order,
  each on a freshly seeded sandbox); DAG parse cost runs fresh interpreters
  (`benchmarks/parse_suite.py`).
- Not assertions: `tests/test_benchmarks_smoke.py` only checks that the harness runs and reports.
"""


def _machine(m: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"- Date: {m['date']}",
            f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gib']} GiB; {m['os']}",
            f"- Python {m['python']}; Airflow {m['airflow']}; airflow-provider-smartarena {m['provider']}; "
            f"apache-airflow-providers-http {m['http_provider']}; dlt {m['dlt']}",
            f"- Load average (1, 5, 15 min) at the start: {m['load_average']}; at the end: "
            f"{m.get('load_average_end', '-')}",
            f"- Mode: `{m['mode']}`; run time {m.get('elapsed_s', 0) / 60:.1f} min; CPU time of all its "
            f"processes (clients, sandboxes, workers) {m.get('cpu_s_all_processes', 0) / 60:.1f} min",
        ]
    )


def _targets(verdicts: list[Verdict]) -> str:
    lines = ["| target | issue | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {v.target} | {v.issue} | {v.measured} | {v.label} |" for v in verdicts]
    return "\n".join(lines)


def _gaps(verdicts: list[Verdict]) -> str:
    missed = [v for v in verdicts if v.met is False]
    if not missed:
        return "Every target measured in this run is met.\n"
    out = []
    for v in missed:
        out += [
            f"### {v.target}",
            "",
            f"- Measured: {v.measured}.",
            f"- Why: {v.gap}",
            f"- Follow-up: {v.follow_up}",
            "",
        ]
    return "\n".join(out)


def _image(charts: dict[str, str], key: str, alt: str) -> str:
    return f"\n![{alt}]({charts[key]})\n" if key in charts else ""


#: Everything after this line of a page is hand-run figures (e.g. the throttled first load, minutes
#: of waiting that ``make bench`` does not spend): regenerating the page keeps it.
KEPT_MARKER = "<!-- Hand-run figures below: kept when this page is regenerated. -->"


def keep_hand_run(page: str, previous: str) -> str:
    """Append the hand-run part of ``previous`` (from :data:`KEPT_MARKER` on) to a new ``page``.

    :param page: the freshly rendered page.
    :param previous: the page it replaces ("" when there is none).
    """
    if KEPT_MARKER not in previous or KEPT_MARKER in page:
        return page
    return page.rstrip() + "\n\n" + previous[previous.index(KEPT_MARKER) :].rstrip() + "\n"


def render(figures: dict[str, Any], charts: dict[str, str], charts_note: str = "") -> str:
    verdicts = judge(figures)
    m = figures["machine"]
    parts = [
        "# Benchmarks",
        "",
        f"Generated by `{COMMANDS.get(m['mode'], 'python -m benchmarks')}` (`python -m benchmarks --mode "
        f"{m['mode']}`)"
        + (f", narrowed to `{m['arguments']}`" if m.get("arguments") else "")
        + "; do not edit by hand. "
        "The provider against what a user would otherwise write, on the Smart ARENA sandbox.",
        "",
        "## Targets from the issues",
        "",
        _targets(verdicts),
        "",
        "## Gaps and follow-ups",
        "",
        _gaps(verdicts),
        "## Machine",
        "",
        _machine(m),
        "",
        "## How to reproduce",
        "",
        REPRODUCE,
    ]
    parts += _scenarios(figures, charts)
    if charts_note:
        parts += ["", charts_note]
    parts += ["", "## Method", "", METHOD]
    return "\n".join(parts).rstrip() + "\n"


class _Section(NamedTuple):
    figures: str  # the key of the figures it renders; the section is left out without them
    heading: str
    tables: Callable[[dict[str, Any]], str]
    chart: tuple[str, str] | None  # the chart's key and alt text


#: The scenarios' sections, in the page's order.
SECTIONS = (
    _Section(
        "extraction",
        "## 1. Extraction of usercourses into SQLite, PostgreSQL and MariaDB",
        extract_suite.render,
        ("extraction", "Extraction wall time by contender"),
    ),
    _Section("hook", "## 2. Hook streaming overhead", hook_suite.render, None),
    _Section(
        "sync",
        "## 3. Provisioning: sync against a naive PUT loop",
        sync_suite.render,
        ("sync", "Sync against naive loop"),
    ),
    _Section(
        "parse",
        "## 4. DAG parse cost",
        parse_suite.render,
        ("parse", "Import time of the provider's modules"),
    ),
    _Section(
        "extraction",
        "## 5. Scale",
        extract_suite.render_scale,
        ("scale", "Extraction time and peak memory by number of records"),
    ),
)


def _scenarios(figures: dict[str, Any], charts: dict[str, str]) -> list[str]:
    parts: list[str] = []
    for section in SECTIONS:
        if figures.get(section.figures):
            parts += [section.heading, "", section.tables(figures[section.figures])]
            if section.chart:
                parts.append(_image(charts, *section.chart))
    return parts
