"""Replies the sandbox never gives, from a scripted loopback server: each ends in a clear outcome."""

from __future__ import annotations

import datetime as dt
import time
from email.utils import format_datetime
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import (
    SmartArenaAuthError,
    SmartArenaRateLimitError,
    SmartArenaResponseError,
    SmartArenaServerError,
    SmartArenaValidationError,
)
from airflow_provider_smartarena.resources import USER_COURSES

from .scripted import Reply, Request

HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1> nginx</body></html>"


def _activity(page: int, index: int) -> dict[str, Any]:
    return {"id": page * 1000 + index, "user_mapping_code": f"u{index}", "course_mapping_code": f"c{page}"}


def test_html_200_is_a_response_error(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(200, raw=HTML, headers={"Content-Type": "text/html"}))
    with pytest.raises(SmartArenaResponseError) as info:
        hook.get_users()
    assert "not valid JSON" in str(info.value)
    assert "text/html" in str(info.value)
    assert "Bad Gateway" in str(info.value)
    assert len(server.api_requests()) == 1  # a wrong body is not retried


def test_html_502_is_retried_then_a_server_error(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(502, raw=HTML, headers={"Content-Type": "text/html"}), max_retries=2)
    with pytest.raises(SmartArenaServerError) as info:
        hook.get_users()
    assert (info.value.method, info.value.path, info.value.status) == ("GET", "/api/users", 502)
    assert "non-JSON body (text/html" in str(info.value)
    assert len(server.api_requests()) == 3


def test_truncated_body_is_retried_then_a_response_error(serve: Any) -> None:
    body = {"data": [{"mapping_code": f"m{i}"} for i in range(50)]}
    server, hook = serve(lambda r: Reply(200, body, truncate_to=40), max_retries=1)
    with pytest.raises(SmartArenaResponseError, match="cut short"):
        hook.get_users()
    assert len(server.api_requests()) == 2


def test_invalid_json_of_full_length_is_a_response_error(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(200, raw=b'{"data": [{"mapping_code": "a"},'))
    with pytest.raises(SmartArenaResponseError, match="not valid JSON"):
        hook.get_locations()
    assert len(server.api_requests()) == 1


def test_truncated_then_whole_recovers(serve: Any) -> None:
    replies = iter([Reply(200, {"data": [{"mapping_code": "a"}] * 20}, truncate_to=10)])

    def route(request: Request) -> Reply:
        return next(replies, Reply(200, {"data": [{"mapping_code": "a"}]}))

    _server, hook = serve(route)
    assert hook.get_locations() == [{"mapping_code": "a"}]


@pytest.mark.parametrize("shape", ["list", "laravel"])
def test_a_repeated_page_is_an_error_not_a_loop(serve: Any, shape: str) -> None:
    records = [_activity(1, i) for i in range(3)]

    def route(request: Request) -> Reply:
        if shape == "list":
            # Ignores ?page= while the data change: the same records, not the same page.
            changing = [{**r, "progress": len(server.api_requests())} for r in records]
            return Reply(200, changing)
        page = int(request.query["page"])
        return Reply(200, {"current_page": page, "data": records, "last_page": 5, "next_page_url": "x"})

    server, hook = serve(route)
    stream = hook.iter_user_courses()
    assert [r["id"] for r in (next(stream), next(stream), next(stream))] == [1000, 1001, 1002]
    with pytest.raises(SmartArenaResponseError, match="page 2 repeats the records of page 1"):
        next(stream)
    assert len(server.api_requests()) == 2


def test_a_never_ending_paginator_hits_the_page_cap(serve: Any) -> None:
    def route(request: Request) -> Reply:
        page = int(request.query["page"])
        return Reply(
            200, {"data": [_activity(page, 0)], "next_page_url": f"/api/usercourses?page={page + 1}"}
        )

    server, hook = serve(route, hook_kwargs={"max_pages": 25})
    seen = []
    with pytest.raises(SmartArenaResponseError, match="more than 25 pages"):
        seen.extend(hook.iter_user_courses())
    assert len(seen) == 25
    assert len(server.api_requests()) == 25


def test_a_page_count_beyond_the_cap_fails_before_fetching(serve: Any) -> None:
    def route(request: Request) -> Reply:
        return Reply(
            200, {"current_page": 1, "data": [_activity(1, 0)], "last_page": 1_000_000, "total": 10**6}
        )

    server, hook = serve(route, hook_kwargs={"max_pages": 100})
    with pytest.raises(SmartArenaResponseError, match="more than 100 pages"):
        list(hook.iter_user_course_pages(max_concurrency=4))
    assert len(server.api_requests()) == 1


def test_unknown_envelope_with_one_list(serve: Any) -> None:
    def route(request: Request) -> Reply:
        page = int(request.query["page"])
        size = 4 if page < 3 else 1
        return Reply(200, {"items": [_activity(page, i) for i in range(size)], "count": 9, "ok": True})

    server, hook = serve(route)
    assert len(list(hook.iter_user_courses())) == 9
    assert len(server.api_requests()) == 3  # 4, 4, then a short page of 1 ends it


def test_unknown_envelope_with_two_lists_is_refused(serve: Any) -> None:
    _server, hook = serve(lambda r: Reply(200, {"items": [{"a": 1}], "others": [{"b": 2}]}))
    with pytest.raises(
        SmartArenaResponseError, match=r"expected a list of records .* keys \[items, others\]"
    ):
        hook.get_users()


def test_laravel_resource_envelope_with_meta_and_links(serve: Any) -> None:
    def route(request: Request) -> Reply:
        page = int(request.query["page"])
        return Reply(
            200,
            {
                "data": [_activity(page, i) for i in range(2)],
                "links": {"next": f"/x?page={page + 1}" if page < 3 else None},
                "meta": {"current_page": page, "last_page": 3, "per_page": 2, "total": 6},
            },
        )

    server, hook = serve(route)
    pages = list(hook.iter_user_course_pages(max_concurrency=3))
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[0].last_page == 3
    assert pages[0].total == 6
    assert len(server.api_requests()) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "Service unavailable"}, "Service unavailable"),
        ({"message": "Too many filters"}, "Too many filters"),
        ({"success": False, "data": []}, "the body reports failure"),
    ],
)
def test_a_200_that_is_an_error(serve: Any, body: dict[str, Any], message: str) -> None:
    _server, hook = serve(lambda r: Reply(200, body))
    with pytest.raises(SmartArenaResponseError, match=f"HTTP 200 with an error body: {message}") as info:
        hook.get_users()
    assert info.value.response_body == body


def test_a_write_answered_with_an_error_body(serve: Any) -> None:
    _server, hook = serve(lambda r: Reply(200, {"error": "cannot save"}))
    with pytest.raises(SmartArenaResponseError, match="cannot save"):
        hook.update_location("l1", name="X")


def test_a_server_ignoring_the_mapping_code_filter_cannot_fool_get_record(serve: Any) -> None:
    users = [{"mapping_code": code, "email": f"{code}@example.com"} for code in ("a", "b", "bb", "B")]
    server, hook = serve(lambda r: Reply(200, {"data": users}))
    assert hook.get_user("b") == users[1]
    assert hook.get_user("zzz") is None
    assert server.api_requests()[0].query == {"mapping_code": "b"}
    assert "page" not in server.api_requests()[0].query  # users are not a documented paged listing


def test_retry_after_http_date_is_honoured(serve: Any) -> None:
    calls: list[float] = []

    def route(request: Request) -> Reply:
        calls.append(time.monotonic())
        if len(calls) == 1:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            headers = {
                "Date": format_datetime(now, usegmt=True),
                "Retry-After": format_datetime(now + dt.timedelta(seconds=1), usegmt=True),
            }
            return Reply(429, {"message": "Too Many Attempts."}, headers=headers)
        return Reply(200, {"data": []})

    _server, hook = serve(route)
    assert hook.get_users() == []
    assert 0.8 <= calls[1] - calls[0] <= 2.0


@pytest.mark.parametrize("value", ["garbage", "0", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_useless_retry_after_falls_back_to_backoff(serve: Any, value: str) -> None:
    replies = iter([Reply(429, {"message": "slow down"}, headers={"Retry-After": value})])
    _server, hook = serve(lambda r: next(replies, Reply(200, {"data": []})))
    started = time.monotonic()
    assert hook.get_users() == []
    assert time.monotonic() - started < 0.5  # backoff base 5 ms, not a long wait


def test_retry_after_beyond_the_cap_gives_up_at_once(serve: Any) -> None:
    server, hook = serve(
        lambda r: Reply(429, {"message": "Too Many Attempts."}, headers={"Retry-After": "120"})
    )
    with pytest.raises(SmartArenaRateLimitError) as info:
        hook.get_users()
    assert info.value.retry_after == 120
    assert info.value.status == 429
    assert len(server.api_requests()) == 1


def test_rate_limited_after_every_retry(serve: Any, log_events: list[dict[str, Any]]) -> None:
    server, hook = serve(
        lambda r: Reply(429, {"message": "Too Many Attempts."}, headers={"Retry-After": "0.01"}),
        max_retries=3,
    )
    with pytest.raises(SmartArenaRateLimitError, match="Too Many Attempts"):
        hook.get_users()
    assert len(server.api_requests()) == 4
    retries = [e["event"] for e in log_events if e["log_level"] == "info" and "retry" in e["event"]]
    assert retries == [
        f"Smart ARENA GET /api/users failed (HTTP 429); retry {n} of 3 in 0.01 s" for n in (1, 2, 3)
    ]


def test_401_renews_once_then_gives_up(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(401, {"message": "Unauthenticated."}))
    with pytest.raises(SmartArenaAuthError):
        hook.get_users()
    assert len(server.api_requests()) == 2
    assert sum(r.path == "/oauth/access_token" for r in server.requests) == 2


def test_token_reply_without_a_token(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(200, {"data": []}))
    server.token_reply = Reply(200, {"token_type": "Bearer"})
    with pytest.raises(SmartArenaResponseError, match="no access_token"):
        hook.get_users()


@pytest.mark.parametrize("status", [400, 401])
def test_token_refused(serve: Any, status: int) -> None:
    server, hook = serve(lambda r: Reply(200, {"data": []}))
    server.token_reply = Reply(status, {"error": "invalid_client", "message": "Client authentication failed"})
    with pytest.raises(SmartArenaAuthError, match="client credentials were refused"):
        hook.get_users()
    assert server.api_requests() == []


# ---------------------------------------------------------------- uncertain writes


class _Platform:
    """A tiny platform whose POST/DELETE succeed, then lose the answer (the connection drops)."""

    def __init__(self, stored: dict[str, dict[str, Any]] | None = None) -> None:
        self.records: dict[str, dict[str, Any]] = stored or {}
        self.dropped = 0

    def route(self, request: Request) -> Reply:
        values = request.json() or {}
        if request.method == "GET":
            code = request.query.get("mapping_code")
            return Reply(200, {"data": [r for c, r in self.records.items() if code in (None, c)]})
        if request.path == "/api/coursemappingcode":
            old, new = values["old_mapping_code"], values["new_mapping_code"]
            if old not in self.records:
                return Reply(404, {"message": "Course not found."})
            self.records[new] = {**self.records.pop(old), "mapping_code": new}
            return self._lose({"message": "Course mapping code updated.", "data": self.records[new]})
        code = values["mapping_code"]
        if request.method == "POST":
            if code in self.records:
                return Reply(
                    422,
                    {
                        "message": "The given data was invalid.",
                        "errors": {"mapping_code": ["The mapping code has already been taken."]},
                    },
                )
            self.records[code] = dict(values)
            return self._lose({"message": "Created.", "data": self.records[code]})
        if request.method == "DELETE":
            if code not in self.records:
                return Reply(404, {"message": "Location not found."})
            del self.records[code]
            return self._lose({"message": "Deleted."})
        return Reply(405, {"message": "no"})

    def _lose(self, body: dict[str, Any]) -> Reply:
        if self.dropped == 0:
            self.dropped += 1
            return Reply(drop=True)
        return Reply(200, body)


def test_create_whose_answer_was_lost_is_confirmed_by_reading_back(serve: Any) -> None:
    platform = _Platform()
    server, hook = serve(platform.route)
    result = hook.create_location("l1", "Ljubljana")
    assert result["data"] == {"mapping_code": "l1", "name": "Ljubljana"}
    assert "reading it back" in result["message"]
    assert [r.method for r in server.api_requests()] == ["POST", "POST", "GET"]


def test_create_refused_as_duplicate_of_someone_elses_record_is_raised(serve: Any) -> None:
    platform = _Platform()
    server, hook = serve(platform.route)
    platform.dropped = 0
    # Someone else already holds l1 with another name: our first attempt changed nothing.
    original = platform.route

    def route(request: Request) -> Reply:
        if request.method == "POST" and platform.dropped == 0:
            platform.dropped = 1
            platform.records["l1"] = {"mapping_code": "l1", "name": "Maribor"}
            return Reply(drop=True)
        return original(request)

    server.route = route
    with pytest.raises(SmartArenaValidationError) as info:
        hook.create_location("l1", "Ljubljana")
    assert "mapping_code" in info.value.errors


def test_duplicate_without_an_uncertain_attempt_is_raised_without_reading_back(serve: Any) -> None:
    platform = _Platform({"l1": {"mapping_code": "l1", "name": "Ljubljana"}})
    server, hook = serve(platform.route)
    with pytest.raises(SmartArenaValidationError):
        hook.create_location("l1", "Ljubljana")
    assert [r.method for r in server.api_requests()] == ["POST"]


def test_delete_whose_answer_was_lost_is_success(serve: Any) -> None:
    platform = _Platform({"l1": {"mapping_code": "l1", "name": "Ljubljana"}})
    server, hook = serve(platform.route)
    assert hook.delete_location("l1") == {}
    assert [r.method for r in server.api_requests()] == ["DELETE", "DELETE"]


def test_rename_whose_answer_was_lost_is_confirmed(serve: Any) -> None:
    platform = _Platform({"c1": {"mapping_code": "c1", "title": "T"}})
    _server, hook = serve(platform.route)
    result = hook.rename_course("c1", "c2")
    assert result["data"]["mapping_code"] == "c2"


def test_create_after_a_read_timeout_is_confirmed(serve: Any) -> None:
    platform = _Platform()
    platform.dropped = 1  # answers normally, but the first answer comes too late
    slow = iter([True])

    def route(request: Request) -> Reply:
        reply = platform.route(request)
        if request.method == "POST" and next(slow, False):
            reply.delay = 0.6
        return reply

    server, hook = serve(route, hook_kwargs={"timeout": 0.3})
    result = hook.create_workplace("w1", "Desk")
    assert result["data"]["mapping_code"] == "w1"
    assert [r.method for r in server.api_requests()] == ["POST", "POST", "GET"]


def test_get_after_a_read_timeout_is_retried(serve: Any) -> None:
    replies = iter([Reply(200, {"data": []}, delay=0.6)])
    server, hook = serve(
        lambda r: next(replies, Reply(200, {"data": [{"mapping_code": "a"}]})), timeout="0.3"
    )
    assert hook.get_workplaces() == [{"mapping_code": "a"}]
    assert len(server.api_requests()) == 2


def test_redirects_are_not_followed(serve: Any) -> None:
    server, hook = serve(
        lambda r: Reply(302, {}, headers={"Location": "https://elsewhere.example/api/users"})
    )
    with pytest.raises(
        SmartArenaResponseError, match=r"unexpected redirect to https://elsewhere\.example/api/users"
    ):
        hook.create_user("u1", "a@example.com", "A", "B")
    assert len(server.api_requests()) == 1


def test_server_errors_exhausted(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(503, {"message": "Server Error"}), max_retries=2)
    with pytest.raises(SmartArenaServerError) as info:
        list(hook.iter_pages(USER_COURSES))
    assert str(info.value) == "GET /api/usercourses -> HTTP 503: Server Error"
    assert len(server.api_requests()) == 3
