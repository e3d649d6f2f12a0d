"""The probe's verdict on every way a tenant may page, throttle and date its answers (issue 18 #5).

"OK" (exit 0) exactly when the extraction works as configured; otherwise the setting to change, or
"not supported" with what the probe saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.probe import ProbeReport, probe
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests.hook.scripted import Reply, Request, ScriptedServer, connection_json

ZONE = "Europe/Ljubljana"
RunProbe = Callable[..., ProbeReport]


def _usercourses(report: ProbeReport) -> Any:
    return next(e for e in report.endpoints if e.name == "usercourses")


def _unsupported_paging_problem(report: ProbeReport) -> str:
    """What the probe found wrong with the activities' paging, which it must call not supported."""
    paging = _usercourses(report).paging
    assert paging is not None
    assert paging.style == "unsupported"
    assert not report.ok
    return paging.problem or ""


@pytest.mark.parametrize(
    ("envelope", "style"),
    [
        ("mixed", "pages"),
        ("laravel", "pages"),
        ("data", "pages"),
        ("list", "pages"),
        ("cursor", "cursor"),
        ("unpaged", "unpaged"),
    ],
)
def test_each_envelope_is_named_and_fits(
    fresh_sandbox: SandboxServer, run_probe: RunProbe, envelope: str, style: str
) -> None:
    fresh_sandbox.set_faults(envelope=envelope)
    fresh_sandbox.reset_stats()
    report = run_probe(fresh_sandbox, timezone="UTC")
    paging = _usercourses(report).paging
    assert paging is not None
    assert paging.style == style, paging
    assert paging.second_records == (500 if style == "unpaged" else 100)
    assert report.ok, report.verdict
    assert report.verdict.startswith("OK:")


def test_laravel7_instants_with_the_right_zone_fit(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    fresh_sandbox.set_faults(iso_datetimes=True, timezone=ZONE)
    fresh_sandbox.tick(changes=3)
    report = run_probe(fresh_sandbox, timezone=ZONE)
    assert report.timezone is not None
    assert (report.timezone.verdict, report.timezone.matches_connection) == ("instants", True)
    assert report.updated_at_filter is not None
    assert report.updated_at_filter.verdict == "strict"
    assert report.dates is not None
    assert report.dates.instants > 0
    assert report.dates.not_midnight == 0
    assert report.ok, report.verdict


def test_laravel7_instants_with_a_wrong_zone_say_what_to_set(
    fresh_sandbox: SandboxServer, run_probe: RunProbe
) -> None:
    fresh_sandbox.set_faults(iso_datetimes=True, timezone=ZONE)
    fresh_sandbox.tick(changes=3)
    report = run_probe(fresh_sandbox, timezone="UTC")
    assert not report.ok
    assert report.dates is not None
    assert report.dates.not_midnight == report.dates.instants > 0
    assert report.dates.offset in ("+01:00", "+02:00")
    assert any("timezone extra" in a and f"UTC{report.dates.offset}" in a for a in report.advice), (
        report.advice
    )
    assert report.verdict.startswith("CHANGE:")


def test_rate_limit_headers_are_reported(fresh_sandbox: SandboxServer, run_probe: RunProbe) -> None:
    fresh_sandbox.set_faults(throttle="500/60")
    report = run_probe(fresh_sandbox)
    assert report.rate_limit["limit"] == "500"
    assert int(report.rate_limit["remaining"]) < 500
    assert any("X-RateLimit-Limit 500" in n for n in report.notes)
    assert report.ok, report.verdict


# ---------------------------------------------------------------------- what no setting fixes


@pytest.fixture
def scripted_probe(make_hook: Any) -> Any:
    servers: list[ScriptedServer] = []

    def run(route: Callable[[Request], Reply]) -> ProbeReport:
        server = ScriptedServer(route)
        servers.append(server)
        return probe(make_hook(connection_json(server.url)))

    yield run
    for server in servers:
        server.close()


def _activity(i: int, progress: int = 0) -> dict[str, Any]:
    return {
        "id": i,
        "user_mapping_code": f"u{i}",
        "course_mapping_code": "c1",
        "updated_at": "2026-01-01 10:00:00",
        "progress": progress,
    }


def _other(request: Request) -> Reply:
    return Reply(200, {"data": []})


def test_a_paginator_that_contradicts_itself_is_not_supported(scripted_probe: Any) -> None:
    records = [_activity(i) for i in range(150)]  # it claims 300

    def route(request: Request) -> Reply:
        if request.path != "/api/usercourses":
            return _other(request)
        page = int(request.query.get("page", 1))
        data = records[(page - 1) * 100 : page * 100]
        return Reply(200, {"current_page": page, "data": data, "last_page": 1, "per_page": 100, "total": 300})

    report = scripted_probe(route)
    assert "not the total 300" in _unsupported_paging_problem(report)
    assert any(a.startswith("not supported: GET /api/usercourses") for a in report.advice)


def test_a_list_ignoring_page_while_it_changes_is_not_supported(scripted_probe: Any) -> None:
    calls = {"n": 0}

    def route(request: Request) -> Reply:
        if request.path != "/api/usercourses":
            return _other(request)
        calls["n"] += 1
        return Reply(200, [_activity(i, calls["n"]) for i in range(5)])

    report = scripted_probe(route)
    assert "repeats the records of page 1" in _unsupported_paging_problem(report)
