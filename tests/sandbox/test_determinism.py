"""Same seed -> same data; --db keeps state across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

from .conftest import Api


def _truth(server: SandboxServer) -> dict[str, Any]:
    body: dict[str, Any] = server.state()
    body.pop("now")
    return body


def test_same_seed_same_state(fresh_sandbox: SandboxServer) -> None:
    first = _truth(fresh_sandbox)
    fresh_sandbox.reset(seed=1, users=50, courses=10, activities=500)
    assert _truth(fresh_sandbox) == first
    fresh_sandbox.reset(seed=2)
    assert _truth(fresh_sandbox)["usercourses"] != first["usercourses"]


def test_same_seed_same_state_across_processes(sandbox: SandboxServer) -> None:
    with run_sandbox(seed=1, users=50, courses=10, activities=500, in_thread=True) as other:
        assert _truth(other) == _truth(sandbox)


def test_reset_sizes(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.reset(seed=9, users=20, courses=4, activities=30, branches=5, locations=2, content=3)
    truth = fresh_sandbox.state()
    sizes = {
        k: len(truth[k]) for k in ("users", "courses", "usercourses", "branches", "locations", "content")
    }
    assert sizes == {
        "users": 20,
        "courses": 4,
        "usercourses": 30,
        "branches": 6,
        "locations": 2,
        "content": 3,
    }
    fresh_sandbox.reset(users=3, courses=2, activities=100)  # capped at users x courses
    assert len(fresh_sandbox.state("usercourses")) == 6


def test_db_persists_across_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite"
    options: dict[str, Any] = {"seed": 4, "users": 15, "courses": 3, "activities": 20, "db": str(db)}
    with run_sandbox(**options) as first:
        api = Api(first)
        api.ok(api.post("/api/locations", {"mapping_code": "kept", "name": "Piran"}), 201)
        api.ok(api.delete("/api/users", {"mapping_code": "u-00001"}))
        first.tick(changes=5, advance_seconds=3600)
        before = _truth(first)
        clock_before = first.clock()["epoch"]
    with run_sandbox(**{**options, "seed": 99}) as second:  # the database wins over the seed
        assert _truth(second) == before
        assert second.clock()["epoch"] >= clock_before
        assert second.admin("GET", "info")["loaded_from_db"] is True
        api = Api(second)  # tokens do not survive a restart: a new one is needed
        assert api.get("/api/locations", mapping_code="kept").json()["data"][0]["name"] == "Piran"
        second.reset()
    with run_sandbox(**options) as third:
        assert "kept" not in {loc["mapping_code"] for loc in third.state("locations")}
