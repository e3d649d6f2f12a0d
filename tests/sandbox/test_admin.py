"""The admin API: ground truth, stats, reset, clock, info; and the testing helper itself."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_smartarena.sandbox.testing import SandboxError, SandboxServer

from .conftest import TIMEOUT, Api
from .documented import LIST_RESOURCES


def test_state_has_every_resource(sandbox: SandboxServer) -> None:
    truth = sandbox.state()
    assert {*LIST_RESOURCES, "course_categories", "now", "timezone"} == set(truth)
    assert len(truth["users"]) == 50
    assert len(truth["usercourses"]) == 500


def test_state_filters(sandbox: SandboxServer) -> None:
    both = sandbox.state("users,courses")
    assert {"users", "courses"} <= set(both)
    assert "usercourses" not in both
    slim = sandbox.state("usercourses", fields="id,updated_at")
    assert set(slim[0]) == {"id", "updated_at"}
    with pytest.raises(SandboxError, match="422"):
        sandbox.state("nope")


def test_stats_count_requests(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    api.get("/api/users")
    api.get("/api/users", mapping_code="x")
    api.post("/api/locations", {"mapping_code": "s1", "name": "Bled"})
    requests.get(f"{fresh_sandbox.url}/api/users", timeout=TIMEOUT)  # 401
    stats = fresh_sandbox.stats()
    assert stats["by_route"] == {"GET /api/users": 3, "POST /api/locations": 1, "POST /oauth/access_token": 1}
    assert (stats["total"], stats["token_requests"], stats["writes"]) == (5, 1, 1)
    assert stats["by_status"] == {"200": 3, "201": 1, "401": 1}
    fresh_sandbox.reset_stats()
    assert fresh_sandbox.stats()["total"] == 0


def test_stats_tell_the_sandbox_cpu_since_their_reset(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    for _ in range(20):
        api.get("/api/usercourses")
    busy = fresh_sandbox.stats()["cpu_seconds"]
    fresh_sandbox.reset_stats()
    idle = fresh_sandbox.stats()["cpu_seconds"]
    assert 0 <= idle < busy
    api.get("/api/usercourses")
    assert fresh_sandbox.stats()["cpu_seconds"] > idle


def test_reset_clears_stats_faults_and_data(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    api.post("/api/locations", {"mapping_code": "gone", "name": "X"})
    fresh_sandbox.set_faults(latency_ms=10)
    fresh_sandbox.reset()
    assert fresh_sandbox.stats()["total"] == 0
    assert fresh_sandbox.faults()["latency_ms"] == 0
    assert "gone" not in {loc["mapping_code"] for loc in fresh_sandbox.state("locations")}
    with pytest.raises(SandboxError, match="422"):
        fresh_sandbox.reset(planets=3)
    with pytest.raises(SandboxError, match="422"):
        fresh_sandbox.reset(users=-1)


def test_clock_can_be_advanced_and_frozen(fresh_sandbox: SandboxServer) -> None:
    before = fresh_sandbox.clock()
    assert before["frozen"] is False
    after = fresh_sandbox.clock(advance_seconds=86400)
    assert after["epoch"] - before["epoch"] >= 86400
    frozen = fresh_sandbox.clock(now="2030-01-01 00:00:00", frozen=True)
    assert frozen["now"] == "2030-01-01 00:00:00"
    assert fresh_sandbox.clock()["now"] == "2030-01-01 00:00:00"
    with pytest.raises(SandboxError, match="422"):
        fresh_sandbox.clock(now="tomorrow")


def test_info_and_connection_helpers(sandbox: SandboxServer) -> None:
    info = sandbox.admin("GET", "info")
    assert (info["client_id"], info["client_secret"]) == ("sandbox-client", "sandbox-secret")
    conn = json.loads(sandbox.connection_json(timezone="UTC", page_size=50))
    assert conn == {
        "conn_type": "smartarena",
        "host": sandbox.url,
        "login": "sandbox-client",
        "password": "sandbox-secret",
        "extra": {"timezone": "UTC", "page_size": 50},
    }
    uri = sandbox.connection_uri()
    assert uri.startswith("smartarena://sandbox-client:sandbox-secret@127.0.0.1:")


def test_unknown_routes_and_methods(read_api: Api) -> None:
    missing = read_api.get("/api/nothing")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found."})
    wrong = read_api.session.patch(f"{read_api.server.url}/api/users", timeout=TIMEOUT)
    assert wrong.status_code == 405
    assert "message" in wrong.json()


def test_malformed_bodies_are_400(read_api: Api) -> None:
    url = f"{read_api.server.url}/api/users"
    headers = {"Content-Type": "application/json"}
    assert read_api.session.post(url, data="{not json", headers=headers, timeout=TIMEOUT).status_code == 400
    assert read_api.session.post(url, data="[1, 2]", headers=headers, timeout=TIMEOUT).status_code == 400
