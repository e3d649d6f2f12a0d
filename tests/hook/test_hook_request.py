"""The public request layer beneath the typed calls (issue 21 #1): ``hook.request()`` -> ``Reply``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaInputError, SmartArenaResponseError
from airflow_provider_smartarena.hooks import Reply

from .scripted import Reply as Scripted
from .scripted import Request


def test_request_returns_the_raw_envelope_headers_and_server_date(serve: Any) -> None:
    envelope = {"data": [{"mapping_code": "l-1"}], "current_page": 1, "last_page": 1}

    def route(request: Request) -> Scripted:
        return Scripted(200, envelope, headers={"X-RateLimit-Limit": "60"})

    server, hook = serve(route)
    reply = hook.request("GET", "/api/locations", params={"mapping_code": "l-1"})
    assert isinstance(reply, Reply)
    assert reply.status == 200
    assert reply.body == envelope
    assert reply.headers["x-ratelimit-limit"] == "60"
    assert isinstance(reply.server_date, dt.datetime)
    assert reply.url.endswith("/api/locations?mapping_code=l-1")
    assert server.api_requests()[0].headers["Authorization"].startswith("Bearer ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.status = 500  # type: ignore[misc]


def test_request_sends_json_and_maps_errors(serve: Any) -> None:
    def route(request: Request) -> Scripted:
        return Scripted(200, {"error": "no such course"})

    server, hook = serve(route)
    with pytest.raises(SmartArenaResponseError, match="no such course"):
        hook.request("POST", "/api/courses/addusers", json={"mapping_code": "c"})
    assert server.api_requests()[0].json() == {"mapping_code": "c"}
    assert hook.request("POST", "/api/x", json={}, error_body=False).body == {"error": "no such course"}


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("PATCH", "/api/users", "method"),
        ("GET", "api/users", "path"),
        ("GET", "https://evil.example/x", "path"),
    ],
)
def test_bad_request_arguments_fail_before_sending(serve: Any, method: str, path: str, field: str) -> None:
    server, hook = serve(lambda r: Scripted(200, []))
    with pytest.raises(SmartArenaInputError) as info:
        hook.request(method, path)
    assert info.value.field == field
    assert server.requests == []


def test_the_token_manager_reports_expires_in(serve: Any) -> None:
    _, hook = serve(lambda r: Scripted(200, []))
    assert hook._tokens.expires_in is None
    hook.request("GET", "/api/users")
    assert hook._tokens.expires_in == 3600
