"""Pagination and list envelopes, end to end: all pages equal the ground truth, with no duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer

from .conftest import Api, read_all, records

PAGINATOR_KEYS = set(
    [
        "current_page",
        "data",
        "first_page_url",
        "from",
        "last_page",
        "last_page_url",
        "links",
        "next_page_url",
        "path",
        "per_page",
        "prev_page_url",
        "to",
        "total",
    ]
)
FLAT = [
    "/api/users",
    "/api/branches",
    "/api/locations",
    "/api/workplaces",
    "/api/qualifications",
    "/api/content",
]


def test_default_paginator_metadata(read_api: Api) -> None:
    first = read_api.ok(read_api.get("/api/usercourses", modules_data=0))
    assert set(first) == PAGINATOR_KEYS
    assert (first["current_page"], first["per_page"], first["total"], first["last_page"]) == (1, 100, 500, 5)
    assert (first["from"], first["to"], first["prev_page_url"]) == (1, 100, None)
    assert "page=2" in first["next_page_url"]
    assert "modules_data=0" in first["next_page_url"]
    assert [link["label"] for link in first["links"] if link["active"]] == ["1"]
    last = read_api.ok(read_api.get("/api/usercourses", page=5, modules_data=0))
    assert (last["next_page_url"], last["from"], last["to"]) == (None, 401, 500)
    beyond = read_api.ok(read_api.get("/api/usercourses", page=6))
    assert (beyond["data"], beyond["from"], beyond["to"], beyond["total"]) == ([], None, None, 500)


def test_next_page_urls_walk_everything(read_api: Api) -> None:
    url: str | None = f"{read_api.server.url}/api/usercourses?modules_data=0"
    seen: list[Any] = []
    while url:
        body = read_api.ok(read_api.session.get(url, timeout=10))
        seen.extend(r["id"] for r in body["data"])
        url = body["next_page_url"]
    assert seen == [a["id"] for a in read_api.server.state("usercourses", modules_data=False)]


def test_default_envelope_of_flat_lists(read_api: Api) -> None:
    for path in FLAT:
        body = read_api.ok(read_api.get(path))
        assert set(body) == {"data"}
        assert read_api.ok(read_api.get(path, page=2)) == {"data": []}


@pytest.mark.parametrize("envelope", ["mixed", "laravel", "data", "list"])
def test_usercourses_all_pages_equal_truth(fresh_sandbox: SandboxServer, envelope: str) -> None:
    fresh_sandbox.set_faults(envelope=envelope, page_size=70)
    api = Api(fresh_sandbox)
    rows, pages = read_all(api, "/api/usercourses", modules_data=0)
    truth = fresh_sandbox.state("usercourses", modules_data=False)
    assert rows == truth
    assert len({r["id"] for r in rows}) == len(rows)
    assert pages == (8 if envelope in ("mixed", "laravel") else 9)  # 500 / 70 -> 8 pages (+1 empty)
    body = api.ok(api.get("/api/usercourses", modules_data=0))
    if envelope == "list":
        assert isinstance(body, list)
        assert len(body) == 70
    elif envelope == "data":
        assert set(body) == {"data"}
    else:
        assert set(body) == PAGINATOR_KEYS


@pytest.mark.parametrize("envelope", ["mixed", "laravel", "data", "list"])
def test_flat_lists_in_every_envelope(fresh_sandbox: SandboxServer, envelope: str) -> None:
    fresh_sandbox.set_faults(envelope=envelope, page_size=7)
    api = Api(fresh_sandbox)
    truth = fresh_sandbox.state()
    for path, resource in [
        ("/api/users", "users"),
        ("/api/branches", "branches"),
        ("/api/courses", "courses"),
    ]:
        rows, _ = read_all(api, path)
        assert sorted(r["mapping_code"] for r in rows) == sorted(r["mapping_code"] for r in truth[resource])
        body = api.ok(api.get(path))
        if envelope == "laravel" or (envelope == "mixed" and path == "/api/courses"):
            assert body["per_page"] == 7
        elif envelope == "list":
            assert isinstance(body, list)


def test_per_page_parameter(read_api: Api) -> None:
    body = read_api.ok(read_api.get("/api/usercourses", per_page=250, modules_data=0))
    assert (len(body["data"]), body["last_page"]) == (250, 2)
    assert read_api.ok(read_api.get("/api/usercourses", page_size=50))["per_page"] == 50
    users = read_api.ok(read_api.get("/api/users", per_page=20))
    assert len(records(users)) == 20
    assert read_api.get("/api/usercourses", per_page=0).status_code == 422
    assert read_api.ok(read_api.get("/api/usercourses", per_page=5000))["per_page"] == 1000
