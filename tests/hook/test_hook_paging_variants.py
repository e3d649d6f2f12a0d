"""Paging the way real Laravel tenants page, from a scripted loopback server (issues 17 #3, 18 #1-2).

Each server holds ``N`` activities and answers ``/api/usercourses`` in one style: a paginator whose
metadata contradict each other, a cursor paginator, links only, a bare list that ignores ``page``.
The hook must read every record exactly once, or fail naming the call; never stop early quietly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaResponseError

from .scripted import Reply, Request, connection_json

PER_PAGE = 100


def _records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "user_mapping_code": f"u{i}",
            "course_mapping_code": "c1",
            "updated_at": "2026-01-01 10:00:00",
        }
        for i in range(count)
    ]


def _numbered(records: list[dict[str, Any]], request: Request, **lies: Any) -> Reply:
    """A Laravel paginate() page, with ``lies`` overriding its metadata."""
    page = int(request.query.get("page", 1))
    items = records[(page - 1) * PER_PAGE : page * PER_PAGE]
    last = max(1, -(-len(records) // PER_PAGE))
    body = {
        "current_page": page,
        "data": items,
        "last_page": last,
        "per_page": PER_PAGE,
        "total": len(records),
        "next_page_url": f"http://x/api/usercourses?page={page + 1}" if page < last else None,
    }
    body.update(lies)
    return Reply(200, body)


def _ids(hook: Any, **kwargs: Any) -> list[int]:
    return [r["id"] for page in hook.iter_user_course_pages(**kwargs) for r in page.records]


# ---------------------------------------------------------------------- contradictory paginators


@pytest.mark.parametrize("last_page", [1, 0, -1])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_last_page_contradicting_the_total_does_not_end_the_read(
    serve: Any, last_page: int, concurrency: int
) -> None:
    records = _records(300)
    # Page numbers and next links agree with last_page (Laravel derives them from it).
    _server, hook = serve(lambda r: _numbered(records, r, last_page=last_page, next_page_url=None))
    assert _ids(hook, max_concurrency=concurrency) == list(range(300))


def test_a_next_link_contradicting_last_page_is_followed_while_pages_are_full(serve: Any) -> None:
    records = _records(250)

    def route(request: Request) -> Reply:
        page = int(request.query.get("page", 1))
        more = page * PER_PAGE < len(records)
        return _numbered(
            records, request, last_page=1, total=None, next_page_url="http://x/n" if more else None
        )

    server, hook = serve(route)
    assert _ids(hook) == list(range(250))
    assert len(server.api_requests()) == 3


def test_a_full_last_page_vouched_for_by_last_page_alone_gets_one_more_read(serve: Any) -> None:
    records = _records(200)

    def route(request: Request) -> Reply:
        page = int(request.query.get("page", 1))
        return Reply(
            200, {"current_page": page, "last_page": 1, "data": records[(page - 1) * 100 : page * 100]}
        )

    server, hook = serve(route)
    assert _ids(hook) == list(range(200))
    assert [r.query["page"] for r in server.api_requests()] == ["1", "2", "3"]


def test_a_paginator_that_cannot_be_reconciled_fails_naming_the_call(serve: Any) -> None:
    records = _records(250)  # it claims 300
    _server, hook = serve(lambda r: _numbered(records, r, last_page=1, total=300, next_page_url=None))
    with pytest.raises(SmartArenaResponseError) as info:
        _ids(hook)
    err = info.value
    assert (err.method, err.path) == ("GET", "/api/usercourses")
    assert "contradicts itself" in str(err)
    assert "250 records, not the total 300" in str(err)


def test_full_pages_then_an_empty_page_short_of_the_total_fail(serve: Any) -> None:
    records = _records(200)  # it claims 260
    _server, hook = serve(lambda r: _numbered(records, r, last_page=1, total=260, next_page_url=None))
    with pytest.raises(SmartArenaResponseError, match="page 3 is empty but its total is 260"):
        _ids(hook)


def test_an_empty_page_that_still_links_onward_fails(serve: Any) -> None:
    def route(request: Request) -> Reply:
        data = [] if "cursor" in request.query else _records(3)
        return Reply(200, {"data": data, "next_cursor": "more", "next_page_url": None})

    _server, hook = serve(route)
    with pytest.raises(SmartArenaResponseError, match="page 2 is empty but gives a next page"):
        _ids(hook)


# ---------------------------------------------------------------------- cursor and link paging


def _cursor_server(
    records: list[dict[str, Any]], *, link: str | None = "self", api_resource: bool = False
) -> Any:
    """A cursorPaginate() route: ``?cursor=`` decides, ``page`` is ignored."""
    holder: dict[str, Any] = {}

    def route(request: Request) -> Reply:
        cursor = request.query.get("cursor")
        start = json.loads(base64.urlsafe_b64decode(cursor))["id"] if cursor else 0
        size = int(request.query.get("per_page") or 40)
        items = [r for r in records if r["id"] >= start][:size]
        after = items[-1]["id"] + 1 if items and items[-1]["id"] + 1 < len(records) else None
        token = base64.urlsafe_b64encode(json.dumps({"id": after}).encode()).decode() if after else None
        url = None
        if token and link == "self":
            url = f"{holder['base']}/api/usercourses?cursor={token}"
        elif token and link:
            url = f"{link}?cursor={token}"
        body: dict[str, Any]
        if api_resource:
            body = {
                "data": items,
                "links": {"first": None, "last": None, "prev": None, "next": url},
                "meta": {"path": "p", "per_page": size, "next_cursor": token, "prev_cursor": None},
            }
        else:
            body = {"data": items, "path": "p", "per_page": size, "next_cursor": token, "next_page_url": url}
        return Reply(200, body)

    return route, holder


@pytest.mark.parametrize("api_resource", [False, True])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_cursor_paging_follows_the_servers_link(serve: Any, api_resource: bool, concurrency: int) -> None:
    records = _records(130)
    route, holder = _cursor_server(records, api_resource=api_resource)
    server, hook = serve(route)
    holder["base"] = server.url
    assert _ids(hook, updated_after="2025-01-01 00:00:00", max_concurrency=concurrency) == list(range(130))
    requests = server.api_requests()
    assert len(requests) == 4
    # The link carries only the cursor: the filter is kept, and page is asked for only once.
    assert all(r.query["updated_at"] == "2025-01-01 00:00:00" for r in requests)
    assert ["page" in r.query for r in requests] == [True, False, False, False]


def test_a_cursor_without_a_link_is_sent_as_the_cursor_parameter(serve: Any) -> None:
    records = _records(90)
    route, _ = _cursor_server(records, link=None)
    server, hook = serve(route)
    assert _ids(hook) == list(range(90))
    assert [("cursor" in r.query) for r in server.api_requests()] == [False, True, True]


def test_a_relative_next_link_is_followed(serve: Any) -> None:
    records = _records(90)
    route, _ = _cursor_server(records, link="/api/usercourses")
    _server, hook = serve(route)
    assert _ids(hook) == list(range(90))


@pytest.mark.parametrize(
    "elsewhere",
    [
        "http://127.0.0.2:{port}/api/usercourses",
        "http://127.0.0.1:1/api/usercourses",
        "https://127.0.0.1:{port}/api/usercourses",
        "http://127.0.0.1:{port}/api/users",
    ],
)
def test_a_next_link_to_another_place_is_an_error_and_gets_no_token(
    serve: Any, scripted: Any, elsewhere: str
) -> None:
    trap = scripted(lambda r: Reply(200, {"data": []}))
    records = _records(90)
    route, holder = _cursor_server(records, link="later")
    server, hook = serve(route)
    target = elsewhere.format(port=trap.url.rsplit(":", 1)[1])
    holder["base"] = server.url
    route_link, _ = _cursor_server(records, link=target)
    server.route = route_link
    with pytest.raises(SmartArenaResponseError, match="not followed") as info:
        _ids(hook)
    assert (info.value.method, info.value.path) == ("GET", "/api/usercourses")
    assert trap.requests == []
    assert len(server.api_requests()) == 1


def test_a_cursor_that_repeats_its_page_is_an_error(serve: Any) -> None:
    records = _records(5)

    def route(request: Request) -> Reply:
        return Reply(200, {"data": records, "next_cursor": "same", "next_page_url": None})

    _server, hook = serve(route)
    with pytest.raises(SmartArenaResponseError, match="page 2 repeats the records of page 1"):
        _ids(hook)


def test_a_cursor_without_end_hits_the_page_cap(serve: Any) -> None:
    def route(request: Request) -> Reply:
        n = int(request.query.get("cursor") or 0)
        return Reply(200, {"data": _records(n + 1)[n:], "next_cursor": str(n + 1)})

    server, hook = serve(route, {"max_pages": 12})
    with pytest.raises(SmartArenaResponseError, match="more than 12 pages"):
        _ids(hook)
    assert len(server.api_requests()) == 12


# ---------------------------------------------------------------------- a bare list ignoring page


@pytest.mark.parametrize("count", [0, 3, 250])
def test_a_bare_list_that_ignores_page_is_read_as_unpaged(
    serve: Any, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records(count)
    server, hook = serve(lambda r: Reply(200, records))
    assert _ids(hook, updated_after="2025-01-01 00:00:00") == list(range(count))
    assert len(server.api_requests()) == (1 if count == 0 else 2)
    out = capsys.readouterr()
    assert (out.out + out.err).count("ignores the page parameter") == (0 if count == 0 else 1)


def test_a_bare_list_honouring_page_is_still_paged(serve: Any) -> None:
    records = _records(250)

    def route(request: Request) -> Reply:
        page = int(request.query.get("page", 1))
        return Reply(200, records[(page - 1) * 100 : page * 100])

    _server, hook = serve(route)
    assert _ids(hook) == list(range(250))


def test_a_later_exact_repeat_is_still_an_error(serve: Any) -> None:
    records = _records(300)

    def route(request: Request) -> Reply:
        page = min(int(request.query.get("page", 1)), 2)  # pages 3, 4, ... repeat page 2
        return Reply(200, records[(page - 1) * 100 : page * 100])

    _server, hook = serve(route)
    with pytest.raises(SmartArenaResponseError, match="page 3 repeats the records of page 2"):
        _ids(hook)


def test_a_page_past_last_page_that_is_the_last_page_again_ends_the_read(
    scripted: Any, make_hook: Any
) -> None:
    """A full page that only ``last_page`` vouches for gets one more read; a server answering every
    page past the end with its last page has said the same thing twice, not looped."""
    page = {"data": [{"id": 1, "user_mapping_code": "u"}], "current_page": 1, "last_page": 1}
    server = scripted(lambda request: Reply(200, page))
    hook = make_hook(connection_json(server.url))
    assert [len(p.records) for p in hook.iter_user_course_pages()] == [1]


def test_a_repeat_past_last_page_with_a_larger_total_still_fails(scripted: Any, make_hook: Any) -> None:
    page = {"data": [{"id": 1, "user_mapping_code": "u"}], "current_page": 1, "last_page": 1, "total": 30}
    server = scripted(lambda request: Reply(200, page))
    hook = make_hook(connection_json(server.url))
    with pytest.raises(SmartArenaResponseError):
        list(hook.iter_user_course_pages())
