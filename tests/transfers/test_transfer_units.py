"""Parts of the transfers that need no server: arguments, naming, assets, lineage, paging helpers."""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_smartarena.transfers import (
    SmartArenaToSqlOperator,
    SmartArenaUserCoursesToSqlOperator,
    table_asset,
)
from airflow_provider_smartarena.transfers._pages import DriftMonitor, prefetch, read_with_one_retry
from airflow_provider_smartarena.transfers._schema import (
    DIMENSIONS,
    dimension_spec,
    parse_datetime,
    user_courses_spec,
)
from airflow_provider_smartarena.transfers.usercourses_to_sql import _Bounds

UTC = dt.UTC


def operator(**kwargs: Any) -> SmartArenaUserCoursesToSqlOperator:
    return SmartArenaUserCoursesToSqlOperator(task_id="extract", **kwargs)


# ---------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "delta"}, "mode must be one of"),
        ({"mode": "window"}, "needs window_start and window_end"),
        ({"window_start": "2025-01-01"}, "only used with mode='window'"),
        ({"mark_deleted": True}, "mark_deleted needs mode='full_refresh'"),
        ({"mode": "full_refresh", "mark_deleted": True, "type": 1}, "cannot be combined with filters"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"batch_size": 0}, "batch_size"),
        ({"overlap": -1}, "overlap must not be negative"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator(**kwargs)


def test_overlap_is_a_timedelta_or_minutes() -> None:
    assert operator().overlap == dt.timedelta(minutes=5)
    assert operator(overlap=30).overlap == dt.timedelta(minutes=30)
    assert operator(overlap=dt.timedelta(seconds=90)).overlap == dt.timedelta(seconds=90)


def test_stream_name_separates_filtered_tasks() -> None:
    assert operator().stream_name() == "usercourses:smartarena_user_courses"
    assert operator(modules_data=False).stream_name() == "usercourses:smartarena_user_courses"
    assert operator(table="dw.uc", type=1, user_mapping_code="u-1").stream_name() == (
        "usercourses:dw.uc?type=1&user_mapping_code=u-1"
    )
    assert operator(stream="custom").stream_name() == "custom"


def test_templated_fields_are_declared() -> None:
    fields = set(SmartArenaUserCoursesToSqlOperator.template_fields)
    assert {
        "window_start",
        "window_end",
        "table",
        "state_table",
        "sql_conn_id",
        "smartarena_conn_id",
    } <= fields
    assert {"user_mapping_code", "type", "date_finished", "modules_data"} <= fields
    assert "filters" in SmartArenaToSqlOperator.template_fields


def test_window_bounds_include_the_start_second_and_exclude_the_end() -> None:
    op = operator(mode="window", window_start="2025-01-01 10:00:00", window_end="2025-01-02T00:00:00+01:00")
    bounds = op._bounds(None, dt.UTC)  # type: ignore[arg-type]
    assert bounds.since == dt.datetime(2025, 1, 1, 9, 59, 59)  # the API filter is strictly after
    assert bounds.end == dt.datetime(2025, 1, 1, 23, 0, 0)
    assert bounds.keeps(dt.datetime(2025, 1, 1, 10, 0, 0))
    assert not bounds.keeps(dt.datetime(2025, 1, 1, 23, 0, 0))
    assert not bounds.keeps(None)
    assert _Bounds(since=None).keeps(None)


# ---------------------------------------------------------------------- schema


def test_every_documented_field_is_a_column_and_no_password_ever() -> None:
    spec = user_courses_spec("t")
    assert spec.key == ("user_mapping_code", "course_mapping_code")
    assert spec.column_names[-2:] == ("_extracted_at", "_deleted_at")
    for resource in DIMENSIONS:
        names = dimension_spec(resource, "t").column_names
        assert not any("password" in n for n in names), resource
    assert "roles" in dimension_spec("users", "t").column_names
    assert dimension_spec("content", "t").key == ("id",)


def test_api_datetimes_are_read_on_the_server_wall_clock() -> None:
    zone = dt.timezone(dt.timedelta(hours=2))
    assert parse_datetime("2025-01-01 10:00:00", zone) == dt.datetime(2025, 1, 1, 10)
    assert parse_datetime("2025-01-01T08:00:00Z", zone) == dt.datetime(2025, 1, 1, 10)
    assert parse_datetime("2025-01-01 10:00:00.5", zone) == dt.datetime(2025, 1, 1, 10)
    assert parse_datetime("", zone) is None


# ---------------------------------------------------------------------- assets and lineage


def test_the_table_asset_is_the_default_outlet() -> None:
    op = operator(sql_conn_id="warehouse", table="dw.activities")
    assert op.outlets == [table_asset("warehouse", "dw.activities")]
    assert table_asset("warehouse", "dw.activities").uri == "smartarena-sql://warehouse/dw.activities"
    assert operator(table="{{ params.table }}").outlets == []  # unknown before rendering
    assert operator(outlets=[]).outlets == []


@dataclass
class _Event:
    extra: dict[str, Any] = field(default_factory=dict)


def test_asset_events_carry_the_run_metadata() -> None:
    op = operator(sql_conn_id="warehouse")
    asset = op.outlets[0]
    events = {asset: _Event(extra={"kept": 1})}
    op.emit_asset_event({"outlet_events": events}, {"rows_upserted": 3, "watermark": "2025-01-01 00:00:00"})
    assert events[asset].extra == {"kept": 1, "rows_upserted": 3, "watermark": "2025-01-01 00:00:00"}
    op.emit_asset_event({}, {"rows_upserted": 3})  # outside a task run: nothing to do


def test_openlineage_facets_are_skipped_without_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert operator().get_openlineage_facets_on_complete(None) is None


def test_openlineage_facets_name_the_endpoint_and_the_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    @dataclass
    class OperatorLineage:
        inputs: list[Any]
        outputs: list[Any]

    @dataclass
    class Dataset:
        namespace: str
        name: str
        outputFacets: dict[str, Any] = field(default_factory=dict)  # noqa: N815

    extractors = types.ModuleType("airflow.providers.openlineage.extractors")
    extractors.OperatorLineage = OperatorLineage  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", extractors)
    facet = pytest.importorskip("airflow.providers.common.compat.openlineage.facet")
    monkeypatch.setattr(facet, "Dataset", Dataset)
    monkeypatch.setattr(facet, "OutputDataset", Dataset)
    monkeypatch.setattr(facet, "OutputStatisticsOutputDatasetFacet", lambda **kw: kw)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMARTARENA_DEFAULT",
        '{"conn_type": "smartarena", "host": "https://lms.example.com", "login": "id", '
        '"password": "units-pw"}',
    )
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", f'{{"conn_type": "sqlite", "host": "{tmp_path}/w.db"}}')

    op = operator(sql_conn_id="warehouse")
    op._rows_written = 7
    lineage = op.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [Dataset("https://lms.example.com", "/api/usercourses")]
    (output,) = lineage.outputs
    assert output.name.endswith("smartarena_user_courses")
    assert output.namespace.startswith("sqlite://")
    assert output.outputFacets == {"outputStatistics": {"rowCount": 7}}


# ---------------------------------------------------------------------- paging helpers


@dataclass
class Page:
    number: int
    records: list[dict[str, Any]]
    last_page: int | None = None
    total: int | None = None


def test_drift_monitor_notices_moves_totals_and_gaps() -> None:
    quiet = DriftMonitor()
    quiet.page(1, 4, 2)
    for k in "ab":
        assert not quiet.record(k)
    quiet.page(2, 4, 2)
    for k in "cd":
        quiet.record(k)
    assert quiet.finish() == []

    moved = DriftMonitor()
    moved.page(1, 3, 2)
    moved.record("a")
    moved.record("a")  # twice on one page: a duplicate, not a move
    moved.page(2, 3, 2)
    assert not moved.record("a")  # across pages: counted when the pass ends
    assert moved.finish() == ["1 record(s) seen on two pages"]
    assert moved.duplicates == 2

    grown = DriftMonitor()
    grown.page(1, 3, 1)
    grown.page(2, 4, 2)
    assert len(grown.finish()) == 2

    gap = DriftMonitor()
    gap.page(1, 3, 1)
    gap.record("a")
    gap.record("b")
    assert gap.finish() == ["read 2 distinct records of a total of 3"]


def test_a_page_of_keys_at_once_counts_what_key_by_key_counts() -> None:
    rng = random.Random(7)
    pages = [
        [rng.choice([None, *"abcdefgh", ("u1", "c1"), ("u1", "c2")]) for _ in range(n)] for n in (9, 0, 12, 5)
    ]
    one, many = DriftMonitor(), DriftMonitor()
    for number, keys in enumerate(pages, 1):
        one.page(number, 40, 4)
        many.page(number, 40, 4)
        for key in keys:
            one.record(key)
        many.records(iter(keys) if number % 2 else keys)  # any iterable, as a handler returns
    assert many.finish() == one.finish()
    assert (many.duplicates, many._unkeyed) == (one.duplicates, one._unkeyed)
    assert one.duplicates > 0  # the pages had both to count
    assert one._unkeyed > 0


def test_read_with_one_retry_rereads_once_then_gives_up() -> None:
    moving = [Page(1, [{"k": "a"}], 2, 2), Page(2, [{"k": "a"}, {"k": "b"}], 2, 2)]
    seen: list[str] = []
    between: list[int] = []

    class Log:
        def warning(self, *args: Any) -> None:
            pass

    complete, passes = read_with_one_retry(
        lambda: iter(moving),
        lambda records: [seen.append(r["k"]) or r["k"] for r in records],
        between=lambda: between.append(1),
        log=Log(),
    )
    assert not complete
    assert len(passes) == 2
    assert between == [1]
    assert passes[0].records == 3
    assert passes[0].pages == 2

    still = [Page(1, [{"k": "a"}], 1, 1)]
    complete, passes = read_with_one_retry(
        lambda: iter(still), lambda records: [r["k"] for r in records], between=lambda: None, log=Log()
    )
    assert complete
    assert len(passes) == 1


def test_prefetch_overlaps_and_propagates_errors() -> None:
    def pages() -> Any:
        yield 1
        yield 2
        raise RuntimeError("boom")

    stream = prefetch(pages())
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(RuntimeError, match="boom"):
        next(stream)


def test_prefetch_stops_the_producer_when_the_consumer_stops() -> None:
    closed = threading.Event()

    def endless() -> Any:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    stream = prefetch(endless(), depth=2)
    assert next(stream) == 1
    stream.close()
    assert closed.wait(5)


@pytest.mark.parametrize(("budget", "held"), [(0, 2), (35, 4), (40, 4), (41, 5)])
def test_prefetch_runs_ahead_by_depth_or_by_budget_whichever_holds_more(budget: int, held: int) -> None:
    """Pages of 10 records: the thread holds 2 pages (depth), or more while they hold < budget."""
    made: list[int] = []

    def pages() -> Any:
        for n in range(100):
            made.append(n)
            yield [n] * 10

    stream = prefetch(pages(), depth=2, budget=budget, weight=len)
    assert next(stream) == [0] * 10
    deadline = time.monotonic() + 5
    while len(made) < held + 2 and time.monotonic() < deadline:  # held + the one taken + one waiting
        time.sleep(0.01)
    time.sleep(0.2)  # it would have run further by now if it could
    assert len(made) == held + 2
    assert [next(stream)[0] for _ in range(5)] == [1, 2, 3, 4, 5]  # in order, nothing lost
    stream.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("progress", "almost done"),
        ("time_on_course", "1h"),
        ("updated_at", "yesterday"),
        ("status", {"a": 1}),
    ],
)
def test_a_field_of_the_wrong_type_names_the_record_and_the_field(field: str, value: Any) -> None:
    from airflow_provider_smartarena.exceptions import SmartArenaResponseError
    from airflow_provider_smartarena.transfers._dialects import get_dialect
    from airflow_provider_smartarena.transfers._loader import RowBuilder

    record = {"user_mapping_code": "u-7", "course_mapping_code": "c-1", "updated_at": "2025-01-01 00:00:00"}
    for database in ("sqlite", "postgresql"):
        builder = RowBuilder(user_courses_spec("t"), get_dialect(database, "?"), UTC, dt.datetime(2025, 1, 1))
        builder.build(record)
        with pytest.raises(SmartArenaResponseError, match=f"u-7.*{field}"):
            builder.build({**record, field: value})


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"])
def test_a_page_builds_the_rows_one_record_at_a_time_would(database: str) -> None:
    """build_page's C-typed fast path and its per-record fallback give identical rows."""
    from airflow_provider_smartarena.transfers._dialects import get_dialect
    from airflow_provider_smartarena.transfers._loader import RowBuilder

    builder = RowBuilder(user_courses_spec("t"), get_dialect(database, "?"), UTC, dt.datetime(2025, 1, 1))
    plain: dict[str, Any] = {
        "user_mapping_code": "u-1",
        "course_mapping_code": "c-1",
        "updated_at": "2025-01-01 10:00:00",
        "date_start": "2025-01-01T09:00:00+02:00",  # not the API's form: converted
        "access_end_date": "2025-02-01",
        "progress": 50,
        "score": 7.5,
        "modules": [{"id": 1, "title": "Varnost - modul 1", "progress": 50}],
        "live_sessions": "[]",  # already text: kept
        "unknown_field": {"ignored": True},
    }
    odd = {**plain, "user_mapping_code": "u-2", "progress": "60", "course_title": 12}  # coerced per record
    for page in ([plain], [plain, odd], [odd], [plain, {"course_mapping_code": "c-2"}]):
        assert builder.build_page(page) == [builder.build(record) for record in page]


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"])
def test_records_decoded_from_a_body_build_the_rows_their_dicts_would(database: str) -> None:
    """The hook decodes pages into the builder's record type, JSON columns as the server's text
    (not parsed and encoded again): the rows are the ones the dicts give."""
    import msgspec

    from airflow_provider_smartarena.hooks._paging import typed_decoder
    from airflow_provider_smartarena.transfers._dialects import get_dialect
    from airflow_provider_smartarena.transfers._loader import RowBuilder

    builder = RowBuilder(user_courses_spec("t"), get_dialect(database, "?"), UTC, dt.datetime(2025, 1, 1))
    base = {"course_mapping_code": "c-1", "updated_at": "2025-01-01 10:00:00"}
    records: list[dict[str, Any]] = [
        {**base, "user_mapping_code": "u-1", "modules": [{"id": 1, "title": "Požarna varnost", "x": None}]},
        {**base, "user_mapping_code": "u-2", "modules": None, "live_sessions": {"at": "2025-01-02"}},
        {**base, "user_mapping_code": "u-3", "live_sessions": '[{"id": 5}]'},  # JSON text already: kept
        {**base, "user_mapping_code": "u-4"},  # neither present
    ]
    body = msgspec.json.encode({"current_page": 1, "last_page": 1, "data": records})
    listing = typed_decoder(builder.record_type)(body)
    assert listing is not None
    assert type(listing.records[0]) is builder.record_type
    assert builder.build_page(listing.records) == [builder.build(record) for record in records]


def test_json_columns_keep_the_servers_text_as_it_was_sent() -> None:
    from airflow_provider_smartarena.hooks._paging import typed_decoder
    from airflow_provider_smartarena.transfers._dialects import get_dialect
    from airflow_provider_smartarena.transfers._loader import RowBuilder

    builder = RowBuilder(user_courses_spec("t"), get_dialect("sqlite", "?"), UTC, dt.datetime(2025, 1, 1))
    # Spaces and escapes, as PHP's json_encode writes them by default.
    modules = '[ {"id": 1, "title": "Po\\u017earna varnost \\/ 1"} ]'
    body = (
        '{"data": [{"user_mapping_code": "u-1", "course_mapping_code": "c-1", '
        f'"updated_at": "2025-01-01 10:00:00", "modules": {modules}, "live_sessions": null}}]}}'
    ).encode()
    listing = typed_decoder(builder.record_type)(body)
    assert listing is not None
    ((_, _, row),) = builder.build_page(listing.records)
    spec = user_courses_spec("t")
    assert row[spec.index("modules")] == modules
    assert json.loads(row[spec.index("modules")]) == [{"id": 1, "title": "Požarna varnost / 1"}]
    assert row[spec.index("live_sessions")] is None


def test_a_bad_value_on_the_fast_path_still_names_the_record_and_the_field() -> None:
    from airflow_provider_smartarena.exceptions import SmartArenaResponseError
    from airflow_provider_smartarena.transfers._dialects import get_dialect
    from airflow_provider_smartarena.transfers._loader import RowBuilder

    builder = RowBuilder(user_courses_spec("t"), get_dialect("sqlite", "?"), UTC, dt.datetime(2025, 1, 1))
    record = {"user_mapping_code": "u-7", "course_mapping_code": "c-1", "updated_at": "yesterday"}
    with pytest.raises(SmartArenaResponseError, match=r"u-7.*updated_at"):
        builder.build_page([record])
