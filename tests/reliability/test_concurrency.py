"""Two writers of one stream at once (issue 17 item 6), on SQLite, PostgreSQL and MariaDB.

The hourly incremental DAG and the nightly reconcile can start at the same moment on the same
stream. Both must end well (the second waits for the first), table creation must survive the race,
and the table and the state row must equal the ground truth — never a half-written state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest

from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from airflow_provider_smartarena.transfers._dialects import get_dialect
from airflow_provider_smartarena.transfers._loader import SmartArenaLockError
from tests.hook.scripted import connection_json
from tests.transfers._operators import STATE, TABLE, extraction
from tests.transfers._scripted_api import ScriptedApi, activity
from tests.transfers.conftest import Warehouse, assert_same_table

KEY = ("user_mapping_code", "course_mapping_code")
COUNT = 600


@pytest.fixture
def platform(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> ScriptedApi:
    records = [
        activity(n, f"2024-05-01 1{n // 3600}:{n // 60 % 60:02d}:{n % 60:02d}") for n in range(1, COUNT + 1)
    ]
    api = ScriptedApi(listings={"/api/usercourses": records}, per_page=100, delay=0.02)
    server = scripted(api.route)
    monkeypatch.setenv("AIRFLOW_CONN_SCRIPTED", connection_json(server.url, max_retries=1))
    return api


def operator(warehouse: Warehouse, task_id: str, **kwargs: Any) -> SmartArenaUserCoursesToSqlOperator:
    return extraction(warehouse, task_id, batch_size=150, max_concurrency=1, **kwargs)


@contextmanager
def stream_held_by_another_writer(warehouse: Warehouse) -> Iterator[None]:
    """The stream's lock held on a connection of its own, as by a run already writing; released after."""
    hook = warehouse.hook()
    dialect = get_dialect(hook.dialect_name, hook.placeholder)
    name = f"stream 'usercourses:{warehouse.name(TABLE)}' of connection 'scripted'"
    with closing(hook.get_conn()) as other:
        release = dialect.lock(other, name, 5)
        assert release is not None
        try:
            yield
        finally:
            release()


def at_once(*operators: SmartArenaUserCoursesToSqlOperator) -> list[dict[str, Any] | BaseException]:
    """Run the operators on threads released at the same moment; their summaries or errors."""
    start = threading.Barrier(len(operators))
    results: list[dict[str, Any] | BaseException] = [RuntimeError("did not run")] * len(operators)

    def work(index: int, task: SmartArenaUserCoursesToSqlOperator) -> None:
        start.wait()
        try:
            results[index] = task.execute({})
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(operators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def assert_ground_truth(warehouse: Warehouse, platform: ScriptedApi) -> None:
    records = platform.listings["/api/usercourses"]
    columns = {c: USER_COURSE_COLUMNS[c] for c in records[0] if c in USER_COURSE_COLUMNS}
    assert_same_table(warehouse.rows(TABLE), records, columns, KEY)


# Three rounds a database in the ordinary run; twenty under ``make soak``.
ROUNDS = [*range(3), *(pytest.param(n, marks=pytest.mark.soak) for n in range(3, 20))]


@pytest.mark.parametrize("round_", ROUNDS)
def test_two_writers_of_one_stream_started_together_both_end_well(
    warehouse: Warehouse, platform: ScriptedApi, round_: int
) -> None:
    results = at_once(
        operator(warehouse, "hourly_incremental"),
        operator(warehouse, "nightly_reconcile", mode="full_refresh", mark_deleted=True),
    )

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert_ground_truth(warehouse, platform)
    state = warehouse.state(STATE)
    newest = max(r["updated_at"] for r in platform.listings["/api/usercourses"])
    assert [(s["stream"], s["watermark"], int(s["rows_written"])) for s in state] == [
        (f"usercourses:{warehouse.name(TABLE)}", newest, COUNT)
    ]
    incremental, reconcile = results
    assert isinstance(incremental, dict)
    assert isinstance(reconcile, dict)
    assert reconcile["rows_written"] == COUNT
    # Serialised, not interleaved: the incremental run came first (no state yet), or after the
    # reconcile had committed its watermark, and then read only the overlap behind it.
    if incremental["previous_watermark"] is None:
        assert incremental["rows_written"] == COUNT
    else:
        assert incremental["previous_watermark"] == newest
        assert incremental["records_read"] == incremental["rows_reread_in_overlap"] < COUNT
    assert all(row["_deleted_at"] is None for row in warehouse.rows(TABLE))


def test_writers_of_two_streams_into_one_new_table_both_create_it(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    """Different streams take different locks, so they race on CREATE TABLE: the loser uses the table."""
    results = at_once(*(operator(warehouse, f"w{i}", stream=f"stream-{i}") for i in range(3)))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert_ground_truth(warehouse, platform)
    assert sorted(s["stream"] for s in warehouse.state(STATE)) == ["stream-0", "stream-1", "stream-2"]


def test_a_writer_that_cannot_get_the_stream_in_time_fails_naming_it_and_writes_nothing(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    with stream_held_by_another_writer(warehouse):
        started = time.monotonic()
        with pytest.raises(SmartArenaLockError) as info:
            operator(warehouse, "late", lock_timeout=0.5).execute({})
        waited = time.monotonic() - started

    assert 0.4 < waited < 5
    assert f"usercourses:{warehouse.name(TABLE)}" in str(info.value)
    assert "lock_timeout=0.5" in str(info.value)
    assert warehouse.state(STATE) == []
    operator(warehouse, "later").execute({})  # once the other writer is gone, the run goes through
    assert_ground_truth(warehouse, platform)


def test_lock_timeout_is_checked_before_any_request() -> None:
    with pytest.raises(ValueError, match="lock_timeout must be seconds"):
        SmartArenaUserCoursesToSqlOperator(task_id="x", lock_timeout=-1)
    with pytest.raises(ValueError, match="lock_timeout must be seconds"):
        SmartArenaUserCoursesToSqlOperator(task_id="x", lock_timeout="ten")


def test_a_backfill_window_does_not_wait_for_the_streams_writer(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    """Windows write no state, so backfills may run in parallel with each other and the stream."""
    with stream_held_by_another_writer(warehouse):
        window = {"window_start": "2024-05-01 00:00:00", "window_end": "2024-05-02 00:00:00"}
        results = at_once(
            *(operator(warehouse, f"w{i}", mode="window", lock_timeout=0.5, **window) for i in range(2))
        )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert_ground_truth(warehouse, platform)
