"""SmartArenaUserCoursesToSqlOperator through real HTTP (the sandbox) into SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from airflow_provider_smartarena.transfers._loader import SqlLoader
from tests.transfers.conftest import Warehouse, assert_same_table

KEY = ("user_mapping_code", "course_mapping_code")
TABLE = "smartarena_user_courses"
FORMAT = "%Y-%m-%d %H:%M:%S"


class FastRetryOperator(SmartArenaUserCoursesToSqlOperator):
    """Retries quickly, so fault-injection tests stay fast."""

    def get_smartarena_hook(self) -> SmartArenaHook:
        return SmartArenaHook(self.smartarena_conn_id, retry_backoff=0.02, retry_max_wait=2, max_retries=12)


def make(warehouse: Warehouse, cls: type = SmartArenaUserCoursesToSqlOperator, **kwargs: Any) -> Any:
    kwargs.setdefault("table", warehouse.name(TABLE))
    kwargs.setdefault("state_table", warehouse.name("smartarena_extract_state"))
    kwargs.setdefault("task_id", "extract")
    return cls(sql_conn_id=warehouse.conn_id, **kwargs)


def run(warehouse: Warehouse, **kwargs: Any) -> dict[str, Any]:
    summary: dict[str, Any] = make(warehouse, **kwargs).execute({})
    json.dumps(summary)  # XCom-ready
    return summary


def table_rows(warehouse: Warehouse) -> list[dict[str, Any]]:
    return warehouse.rows(TABLE)


def assert_ground_truth(warehouse: Warehouse, api: Any) -> None:
    assert_same_table(table_rows(warehouse), api.state("usercourses"), USER_COURSE_COLUMNS, KEY)


def stored_watermark(warehouse: Warehouse) -> str | None:
    rows = [r for r in warehouse.state() if r["stream"] == f"usercourses:{warehouse.name(TABLE)}"]
    return rows[0]["watermark"] if rows else None


def newest(records: list[dict[str, Any]]) -> str:
    return max(r["updated_at"] for r in records)


def expected_watermark(summary: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """min(newest updated_at, T0 - 1 s): the rule the operator must follow."""
    cap = (dt.datetime.strptime(summary["t0"], FORMAT) - dt.timedelta(seconds=1)).strftime(FORMAT)
    return min(newest(records), cap)


def usercourse_requests(api: Any) -> int:
    return int(api.stats()["by_route"].get("GET /api/usercourses", 0))


# ---------------------------------------------------------------------- first run, then changes


def test_first_run_loads_exactly_the_ground_truth(warehouse: Warehouse, api: Any) -> None:
    truth = api.state("usercourses")
    summary = run(warehouse)

    assert_ground_truth(warehouse, api)
    assert summary["records_read"] == len(truth)
    assert summary["rows_written"] == len(truth)
    assert summary["duplicates_collapsed"] == 0
    assert summary["previous_watermark"] is None
    assert summary["complete"]
    assert summary["passes"] == 1
    # The seeded history ends long before now, so the watermark is the newest row.
    assert summary["new_watermark"] == newest(truth) == stored_watermark(warehouse)
    assert all(r["_deleted_at"] is None for r in table_rows(warehouse))


def test_next_run_reads_only_the_changes(warehouse: Warehouse, api: Any) -> None:
    first = run(warehouse)
    api.reset_stats()
    api.clock(advance_seconds=600)
    changes = api.tick(changes=25)["changes"]
    changed = {(c["user_mapping_code"], c["course_mapping_code"]) for c in changes}

    second = run(warehouse)

    assert_ground_truth(warehouse, api)
    window_start = dt.datetime.strptime(first["new_watermark"], FORMAT) - dt.timedelta(minutes=5)
    expected = [r for r in api.state("usercourses") if r["updated_at"] > window_start.strftime(FORMAT)]
    assert second["records_read"] == len(expected) < 60
    assert changed <= {(r["user_mapping_code"], r["course_mapping_code"]) for r in expected}
    assert second["window"]["updated_after"] == window_start.strftime(FORMAT)
    assert second["rows_reread_in_overlap"] == len(expected) - len(changed)
    assert usercourse_requests(api) == 1  # one page, not the whole history again
    assert second["new_watermark"] == stored_watermark(warehouse) == expected_watermark(second, expected)

    api.clock(advance_seconds=1)  # let T0 move past the changes' second
    third = run(warehouse)  # nothing changed since: only the overlap is re-read
    truth = api.state("usercourses")
    w2 = second["new_watermark"]
    since = (dt.datetime.strptime(w2, FORMAT) - dt.timedelta(minutes=5)).strftime(FORMAT)
    assert third["records_read"] == len([r for r in truth if r["updated_at"] > since])
    assert third["rows_reread_in_overlap"] == len([r for r in truth if since < r["updated_at"] <= w2])
    assert third["new_watermark"] == stored_watermark(warehouse) == newest(truth)
    assert_ground_truth(warehouse, api)


# ---------------------------------------------------------------------- crashes


class CrashError(RuntimeError):
    pass


class CrashingHook(SmartArenaHook):
    """Fails like a network outage after ``pages`` pages of the usercourses listing."""

    pages = 2

    def iter_user_course_pages(self, *args: Any, **kwargs: Any) -> Any:
        for number, page in enumerate(super().iter_user_course_pages(*args, **kwargs), 1):
            if number > self.pages:
                raise CrashError("connection lost")
            yield page


class CrashingHookOperator(SmartArenaUserCoursesToSqlOperator):
    def get_smartarena_hook(self) -> SmartArenaHook:
        return CrashingHook(self.smartarena_conn_id)


def crash_database_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """Make the loader's transaction number ``batches + 1`` fail after writing, before its commit
    (in the task's thread or on the loader's writer thread, wherever the batch is written)."""
    real_commit = SqlLoader._commit
    calls = {"n": 0}

    def commit(self: SqlLoader, rows: Any, then: Any) -> None:
        calls["n"] += 1
        if calls["n"] > batches:
            with closing(self._open().cursor()) as cursor:
                self.dialect.upsert(cursor, self.spec, rows)  # written, never committed
            raise CrashError("database connection lost")
        real_commit(self, rows, then)

    monkeypatch.setattr(SqlLoader, "_commit", commit)


@pytest.mark.parametrize("where", ["api", "database"])
def test_crash_between_batches_then_rerun_leaves_no_gap_and_no_duplicate(
    warehouse: Warehouse, api: Any, where: str
) -> None:
    api.set_faults(page_size=50)  # 500 activities: 10 pages
    run(warehouse, batch_size=50)  # a first complete run sets a watermark
    watermark = stored_watermark(warehouse)
    api.clock(advance_seconds=600)
    api.tick(changes=120)

    with pytest.MonkeyPatch.context() as patch:
        if where == "api":
            crashing = make(warehouse, CrashingHookOperator, batch_size=50, max_concurrency=1)
        else:
            crashing = make(warehouse, batch_size=50)
            crash_database_after(patch, batches=1)
        with pytest.raises(CrashError):
            crashing.execute({})

    # Some batches were committed, but the watermark did not move past rows that were not loaded.
    assert stored_watermark(warehouse) == watermark
    rows = table_rows(warehouse)
    assert len(rows) == len({(r["user_mapping_code"], r["course_mapping_code"]) for r in rows})

    summary = run(warehouse, batch_size=50)  # the Airflow retry
    assert_ground_truth(warehouse, api)
    truth = api.state("usercourses")
    assert summary["new_watermark"] == stored_watermark(warehouse) == expected_watermark(summary, truth)


def test_crash_in_the_first_run_stores_no_watermark(warehouse: Warehouse, api: Any) -> None:
    api.set_faults(page_size=50)
    with pytest.MonkeyPatch.context() as patch:
        crash_database_after(patch, batches=3)
        with pytest.raises(CrashError):
            make(warehouse, batch_size=50).execute({})
    assert stored_watermark(warehouse) is None
    assert len(table_rows(warehouse)) == 150  # three committed batches, the fourth rolled back

    run(warehouse, batch_size=50)
    assert_ground_truth(warehouse, api)


# ---------------------------------------------------------------------- faults and moving data


def test_faults_do_not_change_the_result(warehouse: Warehouse, api: Any) -> None:
    api.set_faults(
        page_size=25,
        error_rate=0.15,
        rate_limit_rate=0.1,
        retry_after="0",
        drop_rate=0.1,
        token_ttl=2,
        seed=5,
    )
    # A short token lifetime expires the token mid-run only when the run happens to be slow, so the
    # renewal is forced instead: every token dies once the first page has arrived, before page 2 is
    # asked for (pages after the first are requested only when the caller takes the first).
    tokens_at_revocation: list[int] = []

    class RevokingHook(SmartArenaHook):
        def iter_user_course_pages(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            for number, page in enumerate(super().iter_user_course_pages(*args, **kwargs)):
                if number == 0:
                    api.revoke_tokens()
                    tokens_at_revocation.append(api.stats()["token_requests"])
                yield page

    class RevokingOperator(FastRetryOperator):
        def get_smartarena_hook(self) -> SmartArenaHook:
            return RevokingHook(self.smartarena_conn_id, retry_backoff=0.02, retry_max_wait=2, max_retries=12)

    summary = run(warehouse, cls=RevokingOperator, max_concurrency=4)
    assert_ground_truth(warehouse, api)
    assert summary["records_read"] >= 500
    stats = api.stats()
    assert stats["faults"], stats  # faults really were injected
    assert len(tokens_at_revocation) >= 1
    assert stats["token_requests"] > tokens_at_revocation[0]  # the dead token was replaced


def test_records_changing_during_the_run_are_not_lost(warehouse: Warehouse, api: Any) -> None:
    api.set_faults(page_size=20, latency_ms=40)  # 25 pages, slowly
    stop = threading.Event()

    def activity() -> None:
        while not stop.is_set():
            api.tick(changes=3)
            time.sleep(0.05)

    ticker = threading.Thread(target=activity, daemon=True)
    ticker.start()
    failure: SmartArenaResponseError | None = None
    try:
        first = run(warehouse, max_concurrency=2)
    except SmartArenaResponseError as exc:  # moved during both reads: the task fails, no watermark
        failure = exc
    finally:
        stop.set()
        ticker.join()

    if failure is not None:
        assert "could not be read whole" in str(failure)
        assert stored_watermark(warehouse) is None
    else:
        assert first["drift"], first  # the data moved under the pages and that was noticed
        assert first["complete"]

    api.set_faults(latency_ms=0)
    run(warehouse)
    assert_ground_truth(warehouse, api)


def test_future_dated_rows_do_not_move_the_watermark(warehouse: Warehouse, api: Any) -> None:
    future = api.tick(changes=4, future_seconds=3 * 3600)["changes"]
    summary = run(warehouse)

    t0 = dt.datetime.strptime(summary["t0"], FORMAT)
    assert summary["rows_after_t0"] >= len(future)
    assert summary["newest_updated_at"] == max(c["updated_at"] for c in future)
    assert (
        summary["new_watermark"]
        == stored_watermark(warehouse)
        == (t0 - dt.timedelta(seconds=1)).strftime(FORMAT)
    )
    assert_ground_truth(warehouse, api)

    again = run(warehouse)  # the future rows are still ahead of the watermark: read again, harmlessly
    assert again["rows_after_t0"] >= len(future)
    assert_ground_truth(warehouse, api)


# ---------------------------------------------------------------------- window and full refresh


def test_window_mode_backfills_without_touching_state(warehouse: Warehouse, api: Any) -> None:
    stamps = sorted({r["updated_at"] for r in api.state("usercourses")})
    start, end = stamps[100], stamps[300]  # rows exactly at start are in, rows exactly at end are out
    expected = [r for r in api.state("usercourses") if start <= r["updated_at"] < end]

    summary = run(warehouse, mode="window", window_start=start, window_end=end)
    again = run(
        warehouse,
        mode="window",
        window_start=dt.datetime.strptime(start, FORMAT).replace(tzinfo=dt.UTC).isoformat(),
        window_end=dt.datetime.strptime(end, FORMAT).replace(tzinfo=dt.UTC),
    )

    assert_same_table(table_rows(warehouse), expected, USER_COURSE_COLUMNS, KEY)
    assert summary["rows_written"] == again["rows_written"] == len(expected)
    assert summary["rows_filtered"] > 0  # rows after the end came back from the API and were dropped
    assert summary["window"]["start"] == start
    assert summary["window"]["end"] == end
    assert warehouse.state() == []  # never read nor written
    assert summary["new_watermark"] is None


def test_full_refresh_marks_deleted_rows(warehouse: Warehouse, api: Any) -> None:
    run(warehouse)
    truth = api.state("usercourses")
    gone = truth[:3]
    hook = SmartArenaHook()
    for record in gone:
        hook.remove_course_users(record["course_mapping_code"], [record["user_mapping_code"]])
    hook.close()

    summary = run(warehouse, mode="full_refresh", mark_deleted=True)

    assert summary["rows_marked_deleted"] == 3
    rows = table_rows(warehouse)
    deleted = {
        (r["user_mapping_code"], r["course_mapping_code"]) for r in rows if r["_deleted_at"] is not None
    }
    assert deleted == {(r["user_mapping_code"], r["course_mapping_code"]) for r in gone}
    live = [r for r in rows if r["_deleted_at"] is None]
    assert_same_table(live, api.state("usercourses"), USER_COURSE_COLUMNS, KEY)
    assert summary["new_watermark"] == stored_watermark(warehouse)

    # A row that comes back is live again.
    again = SmartArenaHook()
    again.add_course_users(gone[0]["course_mapping_code"], [gone[0]["user_mapping_code"]])
    again.close()
    run(warehouse, mode="full_refresh", mark_deleted=True)
    back = [r for r in table_rows(warehouse) if r["user_mapping_code"] == gone[0]["user_mapping_code"]]
    assert all(
        r["_deleted_at"] is None for r in back if r["course_mapping_code"] == gone[0]["course_mapping_code"]
    )


# ---------------------------------------------------------------------- envelopes and time zones

SQLITE_ONLY = pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)


@SQLITE_ONLY
@pytest.mark.parametrize("envelope", ["list", "data", "laravel"])
def test_every_list_envelope_gives_the_same_table(warehouse: Warehouse, api: Any, envelope: str) -> None:
    api.set_faults(envelope=envelope, page_size=60)
    summary = run(warehouse, max_concurrency=3)
    assert summary["complete"]
    assert_ground_truth(warehouse, api)


@SQLITE_ONLY
def test_watermark_and_window_are_in_the_server_time_zone(
    warehouse: Warehouse, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = "Europe/Ljubljana"
    api.set_faults(timezone=zone)
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", api.connection_json(timezone=zone))
    api.tick(changes=2, future_seconds=7200)
    summary = run(warehouse)
    assert summary["server_timezone"] == zone
    server_now = dt.datetime.strptime(api.clock()["now"], FORMAT)  # the sandbox's wall clock, in its zone
    t0 = dt.datetime.strptime(summary["t0"], FORMAT)
    assert abs((server_now - t0).total_seconds()) < 5
    assert summary["new_watermark"] == (t0 - dt.timedelta(seconds=1)).strftime(FORMAT)
    assert_ground_truth(warehouse, api)

    # An aware window bound is converted to the server's wall clock before it is sent.
    stamps = sorted({r["updated_at"] for r in api.state("usercourses")})
    start_local = dt.datetime.strptime(stamps[200], FORMAT).replace(tzinfo=ZoneInfo(zone))
    window = run(
        warehouse,
        table=warehouse.name("backfill"),
        mode="window",
        window_start=start_local.astimezone(dt.UTC).isoformat(),
        window_end=dt.datetime.strptime(stamps[250], FORMAT).replace(tzinfo=ZoneInfo(zone)),
    )
    assert window["window"]["start"] == stamps[200]
    assert window["rows_written"] == len(
        [s for s in api.state("usercourses") if stamps[200] <= s["updated_at"] < stamps[250]]
    )


@SQLITE_ONLY
def test_an_empty_window_reads_nothing(warehouse: Warehouse, api: Any) -> None:
    api.reset_stats()
    summary = run(warehouse, mode="window", window_start="2024-06-01", window_end="2024-06-01 00:00:00")
    assert summary["rows_written"] == summary["pages"] == 0
    assert usercourse_requests(api) == 0
    with pytest.raises(ValueError, match="before window_start"):
        run(warehouse, mode="window", window_start="2024-06-02", window_end="2024-06-01")
