"""The probe against a scripted server: what the sandbox never does (other filter semantics, odd replies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.probe import probe
from airflow_provider_smartarena.probe.report import render, to_json
from tests.hook.scripted import TOKEN_REPLY, Reply, Request, ScriptedServer, connection_json

SECRET = "secret-value-42"  # the password of hook.scripted.connection_json
TOKEN = str(TOKEN_REPLY["access_token"])
_FORMAT = "%Y-%m-%d %H:%M:%S"


def _activities(now: dt.datetime) -> list[dict[str, Any]]:
    """Twenty activities, one every 10 minutes up to ``now`` (UTC), oldest first.

    ``now`` must be the time of the test (the ``now`` fixture): the probe compares the newest stamp
    with the server's Date header, so stamps minutes old would look like a server behind UTC.
    """
    return [
        {
            "user_mapping_code": f"u-{i:02d}",
            "course_mapping_code": "c-1",
            "updated_at": f"{now.replace(tzinfo=None) - dt.timedelta(minutes=10 * (19 - i)):{_FORMAT}}",
            "created_at": f"{now.replace(tzinfo=None) - dt.timedelta(days=1):{_FORMAT}}",
        }
        for i in range(20)
    ]


def _usercourses(
    rows: list[dict[str, Any]], keep: Callable[[dt.datetime, dt.datetime], bool]
) -> Callable[[Request], Reply]:
    """A ``/api/usercourses`` whose ``updated_at`` filter keeps a row when ``keep(stamp, value)``."""

    def route(request: Request) -> Reply:
        if request.path != "/api/usercourses":
            return Reply(200, {"data": [{"mapping_code": "x", "id": 1}]})
        value = request.query.get("updated_at")
        if value is None:
            return Reply(200, {"data": rows})
        cut = dt.datetime.strptime(value, _FORMAT)
        return Reply(
            200, {"data": [r for r in rows if keep(dt.datetime.strptime(r["updated_at"], _FORMAT), cut)]}
        )

    return route


def _hook(make_hook: Callable[..., SmartArenaHook], server: ScriptedServer) -> SmartArenaHook:
    return make_hook(connection_json(server.url))


@pytest.mark.parametrize(
    ("keep", "verdict", "overlap", "advice"),
    [
        (lambda stamp, cut: stamp > cut, "strict", None, None),
        (lambda stamp, cut: stamp >= cut, "inclusive", None, None),
        (lambda stamp, cut: True, "ignored", None, "returns activities stamped before the value sent"),
        # Compared on another clock, an hour ahead: rows just after the value are lost.
        (
            lambda stamp, cut: stamp > cut + dt.timedelta(hours=1),
            "misses",
            3601,
            "overlap to more than 60 min",
        ),
    ],
    ids=["strict", "inclusive", "ignored", "misses"],
)
def test_filter_semantics(
    scripted: Any,
    make_hook: Any,
    now: dt.datetime,
    keep: Any,
    verdict: str,
    overlap: int | None,
    advice: str | None,
) -> None:
    server = scripted(_usercourses(_activities(now), keep))
    report = probe(_hook(make_hook, server))
    check = report.updated_at_filter
    assert check is not None
    assert (check.verdict, check.overlap_needed_seconds) == (verdict, overlap), check.explanation
    assert check.sample["user_mapping_code"] is not None
    filter_advice = [a for a in report.advice if "updated_at filter" in a]
    assert filter_advice == [a for a in filter_advice if advice is not None and advice in a]
    assert len(filter_advice) == (advice is not None)
    # Everything the probe sent was a GET (or the token request).
    assert {r.method for r in server.requests} <= {"GET", "POST"}
    assert [r.path for r in server.requests if r.method == "POST"] == ["/oauth/access_token"]


def test_utc_server_recognised_from_the_date_header(scripted: Any, make_hook: Any, now: dt.datetime) -> None:
    server = scripted(_usercourses(_activities(now), lambda stamp, cut: stamp > cut))
    zone = probe(_hook(make_hook, server)).timezone
    assert zone is not None
    assert zone.verdict == "utc", zone.explanation


def _hostile(request: Request) -> Reply:
    echo = f"denied for Bearer {TOKEN} with secret {SECRET}"
    replies = {
        "/api/users": Reply(403, {"message": echo}),
        "/api/branches": Reply(200, "maintenance"),
        "/api/content": Reply(200, {"items": [{"id": 1, "title": "x"}], "count": 1}),
        "/api/locations": Reply(200, {"data": [{"mapping_code": "l1", "name": "L"}], "meta": {"total": 1}}),
        "/api/courses": Reply(200, {"data": [{"title": "no key", "updated_at": 1700000000}]}),
    }
    return replies.get(request.path, Reply(200, []))


def test_odd_replies_are_reported_and_secrets_never_shown(scripted: Any, make_hook: Any) -> None:
    report = probe(_hook(make_hook, scripted(_hostile)))
    by_name = {e.name: e for e in report.endpoints}

    users = by_name["users"]
    assert (users.reachable, users.status) == (False, 403)
    assert users.error is not None
    assert "denied for Bearer ***" in users.error
    assert by_name["branches"].envelope == "unrecognised"
    assert by_name["content"].envelope == "unknown"
    assert by_name["content"].paging_keys == ["count"]
    assert by_name["locations"].envelope == "paginator"
    assert by_name["locations"].paging_keys == ["meta.total"]
    courses = by_name["courses"]
    assert courses.fields is not None
    assert "mapping_code" in courses.fields.missing
    assert courses.datetimes[0].formats == {"number (Unix time?)": 1}

    advice = " | ".join(report.advice)
    for expected in (
        "GET /api/users failed (HTTP 403",
        "access to it",
        "cannot read the reply of GET /api/branches",
        "undocumented list shape",
        "courses records lack mapping_code, which the provider relies on",
        "courses.updated_at holds values the provider cannot read",
    ):
        assert expected in advice
    assert not report.ok
    assert report.verdict.startswith("CHANGE:")
    for text in (to_json(report), render(report), repr(report)):
        assert TOKEN not in text
        assert SECRET not in text
