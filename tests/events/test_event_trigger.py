"""SmartArenaActivityEventTrigger.run() against the sandbox: bursts, overlap, restarts, errors, input.

The watcher runs on its own event loop (tests/events/conftest.py) while the test makes learners
act through the sandbox's admin API; poll intervals are a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from airflow.triggers.base import BaseEventTrigger

from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from airflow_provider_smartarena.triggers.events import SmartArenaActivityEventTrigger
from tests._airflow import free_port

from .conftest import MemoryStateStore, RunningTrigger

POLL = 0.2
KEY_FIELDS = {"user_mapping_code", "course_mapping_code", "status"}


def _trigger(store: MemoryStateStore | None = None, **kwargs: Any) -> SmartArenaActivityEventTrigger:
    trigger = SmartArenaActivityEventTrigger(poll_interval=kwargs.pop("poll_interval", POLL), **kwargs)
    trigger.asset_state_store = store  # type: ignore[assignment]  # what the triggerer injects
    return trigger


def _ready(runner: RunningTrigger, timeout: float = 10) -> None:
    """Wait for the watcher's first poll: changes before it are the past, not news."""
    deadline = time.monotonic() + timeout
    while runner.trigger.position is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.trigger.position is not None, runner.error


def _keys(changes: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    return {(c["user_mapping_code"], c["course_mapping_code"], c["status"]) for c in changes}


def _quiet(runner: RunningTrigger, polls: int = 5) -> None:
    before = len(runner.events)
    time.sleep(polls * POLL)
    assert len(runner.events) == before, runner.events[before:]


def test_one_event_per_burst_with_what_changed_and_no_personal_data(
    sandbox_conn: SandboxServer, watch: Any
) -> None:
    runner = watch(_trigger())
    _ready(runner)
    _quiet(runner)  # the seeded history is not news
    ticked = sandbox_conn.tick(changes=5)["changes"]
    event = runner.wait_events(1)[0]
    assert event["count"] == len(ticked) == 5
    assert _keys(event["changes"]) == _keys(ticked)
    stamps = sorted(c["updated_at"] for c in ticked)
    assert (event["oldest_updated_at"], event["newest_updated_at"]) == (stamps[0], stamps[-1])
    assert event["changes_truncated"] is False
    for change in event["changes"]:
        assert set(change) == KEY_FIELDS
    people = sandbox_conn.state("users")
    text = repr(event)
    for person in people:
        assert person["email"] not in text
        assert person["lastname"] not in text
    # Every later poll re-reads these changes through the overlap: none fires again.
    _quiet(runner, polls=8)


def test_a_burst_spread_over_many_polls_fires_once(sandbox_conn: SandboxServer, watch: Any) -> None:
    runner = watch(_trigger())
    _ready(runner)
    ticked = []
    for _ in range(8):  # learners keep acting for four poll intervals
        ticked += sandbox_conn.tick(changes=2)["changes"]
        time.sleep(POLL / 2)
    event = runner.wait_events(1)[0]
    _quiet(runner)
    assert len(runner.events) == 1
    assert event["count"] == len(
        {(c["user_mapping_code"], c["course_mapping_code"], c["updated_at"], c["status"]) for c in ticked}
    )


def test_max_delay_fires_during_endless_activity(sandbox_conn: SandboxServer, watch: Any) -> None:
    runner = watch(_trigger(max_delay=0))
    _ready(runner)
    for _ in range(3):
        sandbox_conn.tick(changes=1)
        runner.wait_events(len(runner.events) + 1)
    assert len(runner.events) == 3


def test_min_changes_holds_small_batches(sandbox_conn: SandboxServer, watch: Any) -> None:
    runner = watch(_trigger(min_changes=5))
    _ready(runner)
    first = sandbox_conn.tick(changes=2)["changes"]
    _quiet(runner)
    second = sandbox_conn.tick(changes=3)["changes"]
    event = runner.wait_events(1)[0]
    assert event["count"] == 5
    assert _keys(event["changes"]) == _keys(first + second)


def test_a_change_committed_late_with_an_older_stamp_is_not_missed(
    sandbox_conn: SandboxServer, watch: Any
) -> None:
    runner = watch(_trigger(overlap=120))
    _ready(runner)
    _quiet(runner, polls=3)  # the position has moved to the server's clock
    # A change stamped a minute before the position, as a transaction committed late would be.
    now = dt.datetime.strptime(sandbox_conn.clock()["now"], "%Y-%m-%d %H:%M:%S")
    sandbox_conn.clock(now=(now - dt.timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S"))
    late = sandbox_conn.tick(changes=1)["changes"]
    sandbox_conn.clock(now=(now + dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"))
    assert late[0]["updated_at"] < runner.trigger.position
    event = runner.wait_events(1)[0]
    assert _keys(event["changes"]) == _keys(late)


def test_a_change_in_the_same_second_as_the_servers_clock_is_not_missed(
    sandbox_conn: SandboxServer, watch: Any
) -> None:
    # The Date header has whole seconds: with the clock standing still, every answer says the same
    # second and the change is stamped with it, after the watcher has read that clock.
    sandbox_conn.clock(now=sandbox_conn.clock()["now"], frozen=True)
    runner = watch(_trigger(overlap=0))
    _ready(runner)
    _quiet(runner, polls=3)
    ticked = sandbox_conn.tick(changes=1)["changes"]
    assert ticked[0]["updated_at"] == runner.trigger.position
    assert _keys(runner.wait_events(1)[0]["changes"]) == _keys(ticked)


def test_one_request_a_poll(sandbox_conn: SandboxServer, watch: Any) -> None:
    sandbox_conn.reset_stats()
    runner = watch(_trigger())
    _ready(runner)
    time.sleep(10 * POLL)
    runner.stop()
    stats = sandbox_conn.stats()
    polls = stats["by_route"]["GET /api/usercourses"]
    assert 8 <= polls <= 12, stats
    # Besides the polls: one token, and one read of the server's clock before the first poll.
    assert stats["total"] == polls + 2, stats
    assert stats["token_requests"] == 1, stats


def test_a_recreated_trigger_neither_replays_nor_skips(sandbox_conn: SandboxServer, watch: Any) -> None:
    store = MemoryStateStore()
    first = watch(_trigger(store))
    _ready(first)
    ticked = sandbox_conn.tick(changes=3)["changes"]
    assert _keys(first.wait_events(1)[0]["changes"]) == _keys(ticked)
    time.sleep(POLL * 3)  # the position is stored once the event has been handed over
    first.stop()

    # The triggerer restarts: the same arguments, the same asset's store, nothing changed meanwhile.
    again = watch(_trigger(store))
    _ready(again)
    _quiet(again, polls=6)
    again.stop()

    # Learners act while no triggerer runs; the next trigger reports exactly that, once.
    while_down = sandbox_conn.tick(changes=4)["changes"]
    third = watch(_trigger(store))
    event = third.wait_events(1)[0]
    assert event["count"] == 4
    assert _keys(event["changes"]) == _keys(while_down)
    _quiet(third)


class FlakyStore(MemoryStateStore):
    """A state store that cannot be read the first few times (the API server restarting, say)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def aget(self, key: str, default: Any = None) -> Any:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("state store unavailable")
        return await super().aget(key, default)


def test_an_unreadable_store_is_retried_not_skipped(sandbox_conn: SandboxServer, watch: Any) -> None:
    store = FlakyStore(failures=0)
    first = watch(_trigger(store))
    _ready(first)
    first.stop()
    # Changes while no trigger runs, then a trigger whose store answers only at the fourth try: it
    # must not start from the server's clock (that would skip these) but wait for its position.
    ticked = sandbox_conn.tick(changes=2)["changes"]
    store.failures = 3
    again = watch(_trigger(store))
    event = again.wait_events(1)[0]
    assert _keys(event["changes"]) == _keys(ticked)
    assert store.failures == 0


def test_an_unreadable_stored_position_starts_from_the_clock(sandbox_conn: SandboxServer, watch: Any) -> None:
    store = MemoryStateStore()
    store.values[SmartArenaActivityEventTrigger().state_key()] = '{"since": "yesterday"}'
    runner = watch(_trigger(store))
    _ready(runner)
    ticked = sandbox_conn.tick(changes=1)["changes"]
    assert _keys(runner.wait_events(1)[0]["changes"]) == _keys(ticked)


def test_a_new_poll_interval_keeps_the_position_other_filters_do_not_share_it() -> None:
    base = SmartArenaActivityEventTrigger(poll_interval=60)
    assert base.state_key() == SmartArenaActivityEventTrigger(poll_interval=5, min_changes=3).state_key()
    assert base.state_key() != SmartArenaActivityEventTrigger(date_finished="2026-01-01").state_key()
    assert base.state_key() != SmartArenaActivityEventTrigger(smartarena_conn_id="other").state_key()


def test_token_renewal_and_server_errors_are_survived(sandbox_conn: SandboxServer, watch: Any) -> None:
    runner = watch(_trigger())
    _ready(runner)
    sandbox_conn.revoke_tokens()
    sandbox_conn.set_faults(error_rate=0.3, seed=3)
    ticked = sandbox_conn.tick(changes=2)["changes"]
    event = runner.wait_events(1)[0]
    assert _keys(event["changes"]) == _keys(ticked)


def test_an_unreachable_api_keeps_the_watcher_alive_and_logs_once_a_minute(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], watch: Any
) -> None:
    port = free_port()  # nothing listens there
    conn = json.dumps(
        {
            "conn_type": "smartarena",
            "host": f"http://127.0.0.1:{port}",
            "login": "c",
            "password": "s3cr3t-value",
            "extra": {"max_retries": 0, "timeout": 1},
        }
    )
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", conn)
    runner = watch(_trigger(poll_interval=0.05))
    time.sleep(1.5)  # about 30 polls, every one failing
    assert runner.alive
    assert runner.error is None
    assert not runner.events
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert text.count("poll failed") == 1, text
    assert "Connection refused" in text
    assert "s3cr3t-value" not in text


def test_missing_connection_is_retried_not_fatal(capsys: pytest.CaptureFixture[str], watch: Any) -> None:
    runner = watch(_trigger(smartarena_conn_id="no_such_conn", poll_interval=0.05))
    time.sleep(0.5)
    assert runner.alive
    assert runner.error is None
    logged = capsys.readouterr()
    assert (logged.out + logged.err).count("no_such_conn") == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "soon"}, "poll_interval"),
        ({"min_changes": 0}, "min_changes"),
        ({"min_changes": 1.5}, "min_changes"),
        ({"max_delay": -1}, "max_delay"),
        ({"overlap": -5}, "overlap"),
        ({"type": 7}, "type"),
        ({"date_finished": "yesterday"}, "date_finished"),
        ({"user_mapping_code": ""}, "user_mapping_code"),
        ({"smartarena_conn_id": ""}, "smartarena_conn_id"),
    ],
)
def test_bad_arguments_fail_at_construction_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises((SmartArenaInputError, ValueError)) as raised:
        SmartArenaActivityEventTrigger(**kwargs)
    assert str(raised.value).startswith(field) or field in str(raised.value)
    assert "allowed" in str(raised.value)


def test_serialises_to_the_same_hash_and_recreates_from_its_kwargs() -> None:
    trigger = SmartArenaActivityEventTrigger(poll_interval=30, type="e_courses", date_finished="2026-01-01")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_smartarena.triggers.events.SmartArenaActivityEventTrigger"
    again = SmartArenaActivityEventTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*again.serialize())
