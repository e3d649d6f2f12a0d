"""Issue 17 on the warehouse side: no partial load ends green, the state row is right or refused.

A scripted loopback server (``_scripted_api.py``) serves paginators that contradict themselves or
drop a page; the state table is edited by hand the way a bad manual fix or a clock mistake would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from airflow_provider_smartarena.transfers._state import SmartArenaStateError
from tests.hook.scripted import connection_json
from tests.transfers import _operators
from tests.transfers._operators import STATE, TABLE
from tests.transfers._scripted_api import ScriptedApi, activity
from tests.transfers.conftest import Warehouse

FORMAT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture
def platform(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> ScriptedApi:
    records = [activity(n, f"2024-05-01 10:{n // 60:02d}:{n % 60:02d}") for n in range(1, 31)]
    api = ScriptedApi(listings={"/api/usercourses": records})
    server = scripted(api.route)
    monkeypatch.setenv("AIRFLOW_CONN_SCRIPTED", connection_json(server.url, max_retries=1))
    return api


def extract(warehouse: Warehouse, **kwargs: Any) -> dict[str, Any]:
    """One extraction in batches of 7 (unless ``batch_size`` says otherwise), a page at a time."""
    return _operators.extract(warehouse, **{"batch_size": 7, "max_concurrency": 1, **kwargs})


def snapshot(warehouse: Warehouse) -> dict[str, Any]:
    """One snapshot of the locations, a page at a time, marking what the platform no longer has."""
    return _operators.snapshot(warehouse, mark_deleted=True, max_concurrency=1)


def state_row(warehouse: Warehouse) -> dict[str, Any] | None:
    rows = warehouse.state(STATE)
    assert len(rows) <= 1
    return rows[0] if rows else None


def touch(platform: ScriptedApi, count: int) -> None:
    for record in platform.listings["/api/usercourses"][:count]:
        record["updated_at"] = "2024-06-01 08:00:00"
        record["progress"] = 100.0


# ---------------------------------------------------------------------- a partial read fails


CONTRADICTIONS: dict[str, dict[str, Any]] = {
    "a total larger than the records served": {"total_bonus": 10},
    "a page served empty": {"drop_pages": {3}},
}
WINDOW = {"window_start": "2024-05-01 00:00:00", "window_end": "2024-07-01 00:00:00"}


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["incremental", "full_refresh", "window"])
@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_an_incomplete_read_fails_in_every_mode_and_leaves_the_state(
    warehouse: Warehouse, platform: ScriptedApi, mode: str, case: str
) -> None:
    extract(warehouse)
    before = state_row(warehouse)
    assert before is not None
    assert before["watermark"] == "2024-05-01 10:00:30"
    touch(platform, 12)
    del platform.listings["/api/usercourses"][-3:]  # gone from the source: a reconcile would mark them
    for name, value in CONTRADICTIONS[case].items():
        setattr(platform, name, value)
    by_mode: dict[str, dict[str, Any]] = {"window": WINDOW, "full_refresh": {"mark_deleted": True}}
    options = by_mode.get(mode, {})

    with pytest.raises(SmartArenaResponseError, match="could not be read whole") as info:
        extract(warehouse, mode=mode, **options)

    assert info.value.path == "/api/usercourses"
    assert "smartarena_user_courses" in str(info.value)  # names the stream
    assert state_row(warehouse) == before  # neither the watermark nor its bookkeeping moved
    assert all(r["_deleted_at"] is None for r in warehouse.rows(TABLE))  # a partial read marks nothing


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_last_page_of_one_with_a_larger_total_never_ends_green_with_a_partial_table(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    """The issue's paginator: ``last_page`` 1, ``total`` 30, full pages. Reading on while pages are
    full (the hook) may recover every record; what must never happen is a green partial load."""
    platform.last_page = 1
    try:
        summary = extract(warehouse)
    except SmartArenaResponseError:
        assert state_row(warehouse) is None  # failed without a watermark
    else:
        assert summary["complete"]
        assert summary["rows_written"] == 30
        assert len(warehouse.rows(TABLE)) == 30


@pytest.fixture
def locations(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> ScriptedApi:
    records = [{"mapping_code": f"loc-{n:03d}", "name": f"Location {n}"} for n in range(1, 31)]
    api = ScriptedApi(listings={"/api/locations": records})
    server = scripted(api.route)
    monkeypatch.setenv("AIRFLOW_CONN_SCRIPTED", connection_json(server.url, max_retries=1))
    return api


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_a_partial_snapshot_fails_and_marks_nothing_deleted(
    warehouse: Warehouse, locations: ScriptedApi, case: str
) -> None:
    assert snapshot(warehouse)["rows_marked_deleted"] == 0
    for name, value in CONTRADICTIONS[case].items():
        setattr(locations, name, value)

    with pytest.raises(SmartArenaResponseError, match="no row was marked deleted"):
        snapshot(warehouse)

    rows = warehouse.rows("smartarena_locations")
    assert len(rows) == 30
    assert all(r["_deleted_at"] is None for r in rows)


# ---------------------------------------------------------------------- state bookkeeping


@pytest.mark.parametrize("batch_size", [5000, 1000])
def test_rows_written_in_the_state_counts_the_last_batch(
    warehouse: Warehouse, platform: ScriptedApi, batch_size: int
) -> None:
    platform.listings["/api/usercourses"] = [activity(n, "2024-05-01 10:00:00") for n in range(1, 4004)]
    platform.per_page = 1000

    summary = extract(warehouse, batch_size=batch_size)

    assert summary["rows_written"] == 4003
    row = state_row(warehouse)
    assert row is not None
    assert int(row["rows_written"]) == 4003


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_the_overlap_counter_is_named_for_what_it_counts(warehouse: Warehouse, platform: ScriptedApi) -> None:
    extract(warehouse)
    again = extract(warehouse)  # nothing changed: only the overlap (the last 5 minutes) is re-read
    assert "rows_older_than_watermark" not in again
    assert again["rows_reread_in_overlap"] == again["records_read"] == 30


# ---------------------------------------------------------------------- a watermark that cannot be right


def set_state(warehouse: Warehouse, **values: str) -> None:
    assignments = ", ".join(f"{name} = '{value}'" for name, value in values.items())
    warehouse.execute(f"UPDATE {warehouse.name(STATE)} SET {assignments}")


def usercourse_reads(scripted_server_requests: list[Any]) -> int:
    return sum(1 for r in scripted_server_requests if r.path == "/api/usercourses")


def test_a_watermark_after_the_server_clock_fails_naming_table_stream_values_and_fix(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    extract(warehouse)
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime(FORMAT)
    set_state(warehouse, watermark=ahead)
    touch(platform, 5)

    with pytest.raises(SmartArenaStateError) as info:
        extract(warehouse)

    message = str(info.value)
    assert warehouse.name(STATE) in message
    assert f"usercourses:{warehouse.name(TABLE)}" in message
    assert ahead in message
    assert "T0" in message
    assert 'mode="full_refresh"' in message
    assert "UPDATE" in message
    assert state_row(warehouse)["watermark"] == ahead  # type: ignore[index]

    summary = extract(warehouse, mode="full_refresh")  # the documented fix
    assert summary["new_watermark"] == "2024-06-01 08:00:00" == state_row(warehouse)["watermark"]  # type: ignore[index]


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_watermark_within_the_tolerance_is_accepted(warehouse: Warehouse, platform: ScriptedApi) -> None:
    extract(warehouse)
    set_state(warehouse, watermark=(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)).strftime(FORMAT))
    assert extract(warehouse)["complete"]


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("watermark", "yesterday", "'yesterday' is not a"),
        ("watermark", "2024-13-45 99:00:00", "is not a"),
        ("server_timezone", "Mars/Olympus_Mons", "'Mars/Olympus_Mons' is not an IANA time zone"),
        ("server_timezone", "../../etc/passwd", "is not an IANA time zone"),
    ],
)
def test_a_garbage_state_row_fails_naming_table_and_stream(
    warehouse: Warehouse, platform: ScriptedApi, column: str, value: str, said: str
) -> None:
    extract(warehouse)
    set_state(warehouse, **{column: value})

    with pytest.raises(SmartArenaStateError) as info:
        extract(warehouse)

    message = str(info.value)
    assert said in message
    assert warehouse.name(STATE) in message
    assert f"usercourses:{warehouse.name(TABLE)}" in message
    assert 'mode="full_refresh"' in message
    extract(warehouse, mode="full_refresh")  # the fix: the row is rewritten
    assert state_row(warehouse)["watermark"] == "2024-05-01 10:00:30"  # type: ignore[index]
