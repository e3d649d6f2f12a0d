"""Fault injection: latency, 5xx, 429 + Retry-After, dropped connections, token ttl, fault seed."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_smartarena.sandbox.testing import SandboxError, SandboxServer

from .conftest import TIMEOUT, Api


def test_latency(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.set_faults(latency_ms=300)
    started = time.monotonic()
    assert api.get("/api/locations").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    fresh_sandbox.admin("GET", "health")
    assert time.monotonic() - started < 0.3  # never on the admin API


def test_error_rate_one_gives_5xx(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.set_faults(error_rate=1)
    statuses = {api.get("/api/users").status_code for _ in range(20)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) >= 2
    token = requests.post(f"{fresh_sandbox.url}/oauth/access_token", data={}, timeout=TIMEOUT)
    assert token.status_code >= 500
    assert fresh_sandbox.stats()["faults"]["error"] == 21


@pytest.mark.parametrize("retry_after", ["1", "0", "garbage", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_rate_limit_gives_429_with_retry_after(fresh_sandbox: SandboxServer, retry_after: str) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.set_faults(rate_limit_rate=1, retry_after=retry_after)
    response = api.get("/api/users")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == retry_after
    assert response.json()["message"]


def test_drop_closes_the_connection(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    fresh_sandbox.set_faults(drop_rate=1)
    with pytest.raises(requests.ConnectionError):
        api.get("/api/users")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{fresh_sandbox.url}/oauth/access_token", data={}, timeout=TIMEOUT)
    fresh_sandbox.set_faults(drop_rate=0)
    assert api.get("/api/users").status_code == 200


def test_faults_are_reproducible_with_a_seed(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)

    def run() -> list[int]:
        fresh_sandbox.set_faults(error_rate=0.3, rate_limit_rate=0.2, seed=42)
        return [api.get("/api/locations").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 429} <= set(first)


def test_admin_is_never_faulted(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.set_faults(error_rate=1, drop_rate=1, rate_limit_rate=1)
    assert fresh_sandbox.stats()["total"] == 0
    assert fresh_sandbox.state("locations")


def test_get_and_reset_faults(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.set_faults(latency_ms=5, envelope="list", page_size=3, timezone="Europe/Ljubljana")
    assert fresh_sandbox.faults()["envelope"] == "list"
    fresh_sandbox.reset()
    faults = fresh_sandbox.faults()
    assert (faults["latency_ms"], faults["envelope"], faults["page_size"], faults["timezone"]) == (
        0,
        "mixed",
        100,
        "UTC",
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"error_rate": 2},
        {"drop_rate": -0.1},
        {"latency_ms": -1},
        {"token_ttl": 0},
        {"envelope": "xml"},
        {"page_size": 0},
        {"timezone": "Mars/Olympus"},
        {"unknown": 1},
        {"error_rate": None},
    ],
)
def test_bad_fault_settings_are_422(fresh_sandbox: SandboxServer, bad: dict[str, object]) -> None:
    with pytest.raises(SandboxError, match="422"):
        fresh_sandbox.set_faults(**bad)
    assert fresh_sandbox.faults()["error_rate"] == 0


def test_timezone_setting_changes_rendering(fresh_sandbox: SandboxServer) -> None:
    utc = fresh_sandbox.state("locations")[0]["created_at"]
    fresh_sandbox.set_faults(timezone="Asia/Tokyo")
    tokyo = fresh_sandbox.state("locations")[0]["created_at"]
    assert int(tokyo[11:13]) == (int(utc[11:13]) + 9) % 24
