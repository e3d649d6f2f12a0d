"""/_sandbox/tick and the sandbox clock: changes move updated_at; the Date header follows the clock."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxError, SandboxServer

from .conftest import Api, read_all


def test_tick_changes_only_what_it_reports(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    before = {a["id"]: a for a in fresh_sandbox.state("usercourses", modules_data=False)}
    watermark = max(a["updated_at"] for a in before.values())
    result = fresh_sandbox.tick(changes=12, advance_seconds=60)
    assert result["count"] == 12
    changed_ids = {c["id"] for c in result["changes"]}
    rows, _ = read_all(api, "/api/usercourses", updated_at=watermark, modules_data=0)
    assert {r["id"] for r in rows} == changed_ids
    assert all(r["updated_at"] == result["now"] for r in rows)
    after = {a["id"]: a for a in fresh_sandbox.state("usercourses", modules_data=False)}
    for activity_id, row in after.items():
        if activity_id not in changed_ids:
            assert row == before[activity_id]
    new = [c for c in result["changes"] if c["event"] == "enrol"]
    assert all(after[c["id"]]["status"] == 0 for c in new)


def test_tick_events_keep_activities_consistent(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.tick(changes=300, advance_seconds=5)
    for a in fresh_sandbox.state("usercourses", modules_data=False):
        assert a["created_at"] <= a["updated_at"]
        assert (a["date_completed"] is None) == (a["status"] < 2)
        assert (a["date_start"] is None) == (a["status"] == 0)


def test_the_same_ticks_make_the_same_changes(fresh_sandbox: SandboxServer) -> None:
    first = [(c["id"], c["event"], c["status"]) for c in fresh_sandbox.tick(changes=20)["changes"]]
    fresh_sandbox.reset()
    second = [(c["id"], c["event"], c["status"]) for c in fresh_sandbox.tick(changes=20)["changes"]]
    assert first == second


def test_future_rows(fresh_sandbox: SandboxServer) -> None:
    result = fresh_sandbox.tick(changes=3, future_seconds=3600)
    now = datetime.strptime(result["now"], "%Y-%m-%d %H:%M:%S")
    for change in result["changes"]:
        assert (datetime.strptime(change["updated_at"], "%Y-%m-%d %H:%M:%S") - now).total_seconds() == 3600


def test_date_header_follows_the_sandbox_clock(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.clock(now="2030-05-01 12:00:00", frozen=True)
    response = api.get("/api/locations")
    assert parsedate_to_datetime(response.headers["Date"]) == datetime(2030, 5, 1, 12, tzinfo=ZoneInfo("UTC"))
    fresh_sandbox.tick(changes=1, advance_seconds=90)
    later = parsedate_to_datetime(api.get("/api/locations").headers["Date"])
    assert later == datetime(2030, 5, 1, 12, 1, 30, tzinfo=ZoneInfo("UTC"))
    admin = fresh_sandbox.clock()
    assert (admin["now"], admin["frozen"]) == ("2030-05-01 12:01:30", True)


def test_writes_are_stamped_with_the_sandbox_clock(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.clock(now="2031-01-02 03:04:05", frozen=True)
    created = api.ok(api.post("/api/locations", {"mapping_code": "l-x", "name": "Bled"}), 201)["data"]
    assert created["created_at"] == "2031-01-02 03:04:05"


def test_bad_tick_input_is_422(fresh_sandbox: SandboxServer) -> None:
    for body in ({"changes": -1}, {"changes": "x"}, {"advance_seconds": -5}):
        with pytest.raises(SandboxError, match="422"):
            fresh_sandbox.admin("POST", "tick", body)
