"""The probe against the sandbox: envelopes, paging, fields, datetimes, time zones, the filter, no writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_smartarena.probe import ProbeReport
from airflow_provider_smartarena.probe._datetimes import format_offset
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests.sandbox.documented import LIST_RESOURCES

from .conftest import LOCAL_ZONE, writes_of

RunProbe = Callable[..., ProbeReport]
ENDPOINTS = list(LIST_RESOURCES)
#: What the sandbox documents for each --envelope (docs/sandbox.md, "Lists").
PAGED = {"courses", "usercourses"}
ENVELOPES: dict[str, Callable[[str], str]] = {
    "mixed": lambda name: "paginator" if name in PAGED else "data",
    "laravel": lambda name: "paginator",
    "data": lambda name: "data",
    "list": lambda name: "list",
}
PAGINATOR_KEYS = {"current_page", "last_page", "per_page", "total", "next_page_url", "data"} - {"data"}


def _probe_read_only(server: SandboxServer, run_probe: RunProbe, **kwargs: Any) -> ProbeReport:
    """Probe with zeroed stats, and check the probe made one token request and GETs only."""
    server.reset_stats()
    report = run_probe(server, **kwargs)
    stats = server.stats()
    assert writes_of(server) == {}, stats
    assert stats["token_requests"] == report.requests["token"] == 1
    gets = sum(n for route, n in stats["by_route"].items() if route.startswith("GET "))
    assert gets == report.requests["get"]
    return report


def _local_offset() -> str:
    offset = ZoneInfo(LOCAL_ZONE).utcoffset(dt.datetime.now(dt.UTC))
    assert offset is not None
    return format_offset(offset.total_seconds())


@pytest.mark.parametrize("envelope", list(ENVELOPES))
def test_envelopes_and_paging(fresh_sandbox: SandboxServer, run_probe: RunProbe, envelope: str) -> None:
    fresh_sandbox.set_faults(envelope=envelope)
    fresh_sandbox.tick(changes=3)
    report = _probe_read_only(fresh_sandbox, run_probe, timezone="UTC")

    assert [e.name for e in report.endpoints] == ENDPOINTS
    assert {e.name: e.envelope for e in report.endpoints} == {n: ENVELOPES[envelope](n) for n in ENDPOINTS}
    for endpoint in report.endpoints:
        assert endpoint.reachable, endpoint
        assert endpoint.status == 200
        if endpoint.envelope == "paginator":
            assert set(endpoint.paging_keys) >= PAGINATOR_KEYS
            assert endpoint.per_page == 100
        else:
            assert endpoint.paging_keys == []
            assert endpoint.per_page is None
    usercourses = report.endpoints[-1]
    assert usercourses.records == 100  # 500 activities, pages of 100, whatever the envelope
    assert report.ok, report.verdict
    assert report.verdict.startswith("OK:")


def test_fields_and_datetimes(sandbox: SandboxServer, run_probe: RunProbe) -> None:
    report = _probe_read_only(sandbox, run_probe)
    by_name = {e.name: e for e in report.endpoints}

    usercourses = by_name["usercourses"].fields
    assert usercourses is not None
    assert usercourses.missing == []
    assert usercourses.extra == ["id"]
    users = by_name["users"].fields
    assert users is not None
    assert users.missing == []
    assert {"active", "created_at", "updated_at"} <= set(users.extra)
    assert "password" not in users.present
    for name in ("courses", "usercourses"):
        formats = {c.field: c for c in by_name[name].datetimes}
        assert set(formats) == {"updated_at", "created_at"}
        assert all(c.documented and set(c.formats) == {"YYYY-MM-DD HH:MM:SS"} for c in formats.values())
    assert report.token is not None
    assert report.token.expires_in == 3600


def test_token_lifetime_is_reported(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    fresh_sandbox.set_faults(token_ttl=90)
    report = run_probe(fresh_sandbox, short=True)
    assert report.token is not None
    assert report.token.expires_in == 90


@pytest.mark.parametrize(("configured", "agrees"), [("UTC", False), (LOCAL_ZONE, True)])
def test_local_time_is_recognised(
    local_sandbox: SandboxServer, run_probe: RunProbe, configured: str, agrees: bool
) -> None:
    local_sandbox.tick(changes=3)
    report = _probe_read_only(local_sandbox, run_probe, timezone=configured)

    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.offset, zone.matches_connection) == ("local", _local_offset(), agrees)
    assert zone.exact
    assert zone.ahead_seconds is not None
    assert report.updated_at_filter is not None
    assert report.updated_at_filter.verdict == "strict"
    if agrees:
        assert report.ok, report.verdict
    else:
        (advice,) = report.advice
        assert "timezone extra" in advice
        assert f"UTC{_local_offset()}" in advice
        assert report.verdict.startswith("CHANGE:")


def test_utc_values_with_a_local_connection_zone(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    fresh_sandbox.tick(changes=3)
    report = _probe_read_only(fresh_sandbox, run_probe, timezone=LOCAL_ZONE)
    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.matches_connection) == ("utc", False)
    assert report.advice == [
        f"set the connection's timezone extra to UTC (updated_at values are UTC; it says {zone.configured})"
    ]


def test_old_history_leaves_the_zone_undetermined(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    # The seeded history ends at a fixed epoch in the past: nothing changed within the last 14 h.
    report = _probe_read_only(fresh_sandbox, run_probe)
    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.matches_connection) == ("no-recent-data", None)
    assert report.ok
    assert "time zone not confirmed" in report.verdict
    # The filter is still tried, on the newest activity of the unfiltered page 1.
    assert report.updated_at_filter is not None
    assert report.updated_at_filter.verdict == "strict"


def test_bisection_finds_the_newest_change(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    """Many recent changes on small pages: the newest is found by bisection, in few requests."""
    fresh_sandbox.set_faults(page_size=5)
    now = dt.datetime.strptime(fresh_sandbox.clock()["now"], "%Y-%m-%d %H:%M:%S")
    fresh_sandbox.clock(now=f"{now - dt.timedelta(hours=3):%Y-%m-%d %H:%M:%S}", frozen=True)
    for _ in range(12):
        fresh_sandbox.tick(changes=6, advance_seconds=600)
    fresh_sandbox.clock(now=f"{now:%Y-%m-%d %H:%M:%S}", frozen=False)
    fresh_sandbox.tick(changes=2)

    report = _probe_read_only(fresh_sandbox, run_probe)
    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.exact, zone.matches_connection) == ("utc", True, True)
    assert zone.requests <= 16
    assert report.updated_at_filter is not None
    assert report.updated_at_filter.verdict == "strict"


def test_rows_dated_far_in_the_future(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    fresh_sandbox.set_faults(page_size=5)
    fresh_sandbox.tick(changes=3)
    fresh_sandbox.tick(changes=8, future_seconds=20 * 3600)
    report = _probe_read_only(fresh_sandbox, run_probe)
    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.matches_connection) == ("future-rows", None)
    assert report.advice == []


def test_rows_a_little_ahead_of_utc(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    """30 minutes ahead is no zone's offset: future-dated rows or an older local change; UTC is wrong."""
    fresh_sandbox.tick(changes=3, future_seconds=1800)
    report = _probe_read_only(fresh_sandbox, run_probe)
    zone = report.timezone
    assert zone is not None
    assert (zone.verdict, zone.matches_connection) == ("ahead", False)
    (advice,) = report.advice
    assert "dated in the future" in advice


def test_short_probe_for_test_connection(sandbox: SandboxServer, run_probe: RunProbe) -> None:
    report = _probe_read_only(sandbox, run_probe, short=True)
    assert report.requests == {"token": 1, "get": 8}
    assert all(e.reachable and e.fields is None for e in report.endpoints)
    assert report.timezone is None
    assert report.updated_at_filter is None
    ok, message = report.connection_test()
    assert ok, message
    assert message.startswith(f"Connected to {sandbox.url} as client 'sandbox-client': token obtained")
    assert "8 of 8 endpoints answered" in message
