"""Hostile answers, through the hook and through the extraction: a clear SmartArenaError, never a
silent partial result, never a watermark past what was loaded.

``tests/hook/test_hook_hostile.py`` covers each hostile reply through the hook one by one; here the
same kinds of replies arrive in the middle of an extraction (after a good run stored a watermark),
random bodies, statuses and paginators come from hypothesis, and records with wrong field types
reach the loader.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_smartarena.exceptions import SmartArenaError, SmartArenaResponseError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from tests.hook.scripted import Reply, Request, ScriptedServer, connection_json
from tests.reliability._support import TABLE, check_rows, stored_watermark
from tests.transfers import _operators
from tests.transfers.conftest import Warehouse, assert_same_table

Hostile = Callable[[int, dict[str, Any], "Platform"], Reply | None]
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
PAGE_SIZE = 4
MAX_PAGES = 12
FAST: dict[str, Any] = {"retry_backoff": 0.005, "retry_max_wait": 1.0}


def activity(number: int, updated_at: str) -> dict[str, Any]:
    return {
        "id": number,
        "user_mapping_code": f"u-{number:03d}",
        "course_mapping_code": f"c-{number % 3}",
        "course_title": f"Course {number % 3}",
        "updated_at": updated_at,
        "progress": float(number % 100),
        "status": number % 5,
        "time_on_course": number * 60,
        "modules": [{"id": 1, "title": "Intro", "status": 1, "progress": 50}],
    }


#: A cap far above a page of this platform (a few KB) and far below what the hostile cases send.
MAX_BODY = 1024 * 1024
#: Seconds a request may take in all: pages come at once, a dripping answer does not.
TIMEOUT = 3
GZIP_BOMB = gzip.compress(b"\0" * (64 * MAX_BODY), compresslevel=9)


class Platform:
    """A scripted Smart ARENA whose activities list is a Laravel paginator; ``hostile(page)`` may
    replace the answer for a page."""

    def __init__(self, count: int) -> None:
        self.records = [activity(n, f"2024-05-01 10:{n // 60:02d}:{n % 60:02d}") for n in range(1, count + 1)]
        self.hostile: Hostile | None = None
        #: The latest body served for each page number.
        self.served: dict[int, dict[str, Any]] = {}
        self.since = ""

    def page(self, number: int, records: list[dict[str, Any]]) -> dict[str, Any]:
        last = max(1, -(-len(records) // PAGE_SIZE))
        return {
            "current_page": number,
            "data": records[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
            "last_page": last,
            "per_page": PAGE_SIZE,
            "total": len(records),
            "next_page_url": f"/api/usercourses?page={number + 1}" if number < last else None,
        }

    def records_since(self, since: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["updated_at"] > since]

    def route(self, request: Request) -> Reply:
        if request.path != "/api/usercourses":
            return Reply(200, {"data": []})  # the server_now() probe
        self.since = request.query.get("updated_at", "")
        records = self.records_since(self.since)
        number = int(request.query.get("page", 1))
        body = self.page(number, records)
        hostile = self.hostile(number, body, self) if self.hostile is not None else None
        self.served[number] = body
        return hostile or Reply(200, body)

    def touch(self, count: int) -> None:
        """``count`` activities change (a newer updated_at), as learners progress."""
        for record in self.records[:count]:
            record["updated_at"] = "2024-06-01 08:00:00"
            record["progress"] = 100.0


class GuardedOperator(SmartArenaUserCoursesToSqlOperator):
    """The extraction with a small page cap (the hook's ``max_pages``) and quick retries."""

    def get_smartarena_hook(self) -> SmartArenaHook:
        return SmartArenaHook(self.smartarena_conn_id, max_pages=MAX_PAGES, **FAST)


@pytest.fixture
def platform(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> Platform:
    platform = Platform(count=30)
    server = scripted(platform.route)
    conn = connection_json(server.url, max_retries=1, max_response_bytes=MAX_BODY, timeout=TIMEOUT)
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE", conn)
    return platform


def extract(warehouse: Warehouse) -> dict[str, Any]:
    return _operators.extract(
        warehouse, operator=GuardedOperator, smartarena_conn_id="hostile", batch_size=3, max_concurrency=1
    )


def assert_matches_platform(warehouse: Warehouse, platform: Platform) -> None:
    rows = warehouse.rows(TABLE)
    assert check_rows(rows, platform.records).duplicated == 0
    columns = {c: USER_COURSE_COLUMNS[c] for c in platform.records[0] if c in USER_COURSE_COLUMNS}
    assert_same_table(rows, platform.records, columns, ("user_mapping_code", "course_mapping_code"))


def on_page_two(make: Callable[[dict[str, Any], Platform], Reply]) -> Hostile:
    return lambda number, body, platform: make(body, platform) if number == 2 else None


def endless(number: int, body: dict[str, Any], platform: Platform) -> Reply:
    """A next link that wraps around: pages 1, 2, 3, 1, 2, 3 ... each unlike the one before."""
    last = body["last_page"]
    again = platform.page((number - 1) % last + 1, platform.records_since(platform.since))
    return Reply(
        200, {**again, "current_page": number, "last_page": None, "next_page_url": f"?page={number + 1}"}
    )


HOSTILE_PAGES: dict[str, Hostile] = {
    "an HTML page with status 200": on_page_two(
        lambda body, _: Reply(200, raw=HTML, headers={"Content-Type": "text/html"})
    ),
    "an HTML 502 after every retry": on_page_two(lambda body, _: Reply(502, raw=HTML)),
    "a body cut short": on_page_two(lambda body, _: Reply(200, body, truncate_to=25)),
    "malformed JSON": on_page_two(lambda body, _: Reply(200, raw=b'{"data": [{"user_mapping_code": "u-1",')),
    "data that is a string": on_page_two(lambda body, _: Reply(200, {**body, "data": "none today"})),
    "records that are not objects": on_page_two(lambda body, _: Reply(200, {**body, "data": [1, 2, 3]})),
    "a 200 with an error body": on_page_two(lambda body, _: Reply(200, {"error": "Service unavailable"})),
    "a 200 with only a message": on_page_two(lambda body, _: Reply(200, {"message": "Please retry later"})),
    "a page that repeats the previous one": on_page_two(
        lambda body, platform: Reply(200, {**body, "data": platform.served[1]["data"]})
    ),
    "a paginator that never ends": endless,
    "a paginator that contradicts itself": lambda number, body, platform: Reply(
        200, {**body, "last_page": 1, "next_page_url": None, "total": body["total"] + 20}
    ),
    # Issue 17 #11 and #12: bodies that would exhaust memory or time, or the parser's stack.
    "a body over max_response_bytes": on_page_two(
        lambda body, _: Reply(200, raw=b'{"data": ["' + b"x" * (2 * MAX_BODY) + b'"]}')
    ),
    "a gzip bomb": on_page_two(
        lambda body, _: Reply(200, raw=GZIP_BOMB, headers={"Content-Encoding": "gzip"})
    ),
    "a server dripping its answer": on_page_two(lambda body, _: Reply(200, body, drip=0.5)),
    "JSON nested 100,000 deep": on_page_two(lambda body, _: Reply(200, raw=b"[" * 100_000 + b"]" * 100_000)),
}
#: What the error says, for each hostile page.
EXPLAINED = {
    "an HTML page with status 200": "not valid JSON",
    "an HTML 502 after every retry": "HTTP 502",
    "a body cut short": "cut short",
    "malformed JSON": "not valid JSON",
    "data that is a string": "expected a list of records",
    "records that are not objects": "expected a list of records",
    "a 200 with an error body": "HTTP 200 with an error body: Service unavailable",
    "a 200 with only a message": "HTTP 200 with an error body: Please retry later",
    "a page that repeats the previous one": "page 2 repeats the records of page 1",
    "a paginator that never ends": f"more than {MAX_PAGES} pages",
    "a paginator that contradicts itself": "the paginator contradicts itself",
    "a body over max_response_bytes": "larger than max_response_bytes",
    "a gzip bomb": "after decompression",
    "a server dripping its answer": "took longer than timeout=3 s in all",
    "JSON nested 100,000 deep": "nested too deeply",
}


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", sorted(HOSTILE_PAGES))
def test_a_hostile_page_mid_extraction_fails_clearly_and_keeps_the_watermark(
    warehouse: Warehouse, platform: Platform, case: str
) -> None:
    extract(warehouse)  # a good first run: every record loaded, watermark stored
    before = stored_watermark(warehouse)
    assert before is not None
    platform.touch(count=12)  # three pages of changes to read next time
    platform.hostile = HOSTILE_PAGES[case]

    with pytest.raises(SmartArenaError) as info:
        extract(warehouse)

    assert info.value.path == "/api/usercourses", info.value
    assert EXPLAINED[case] in str(info.value)
    assert stored_watermark(warehouse) == before  # never moved past what was loaded
    assert check_rows(warehouse.rows(TABLE), platform.records).duplicated == 0
    platform.hostile = None
    extract(warehouse)  # the retry, once the server behaves
    assert_matches_platform(warehouse, platform)
    assert stored_watermark(warehouse) == max(r["updated_at"] for r in platform.records)


@pytest.mark.parametrize("case", sorted(HOSTILE_PAGES))
def test_a_hostile_page_through_the_hook_is_an_error_not_a_short_list(
    platform: Platform, case: str, make_hook: Any
) -> None:
    platform.hostile = HOSTILE_PAGES[case]
    hook = make_hook(os.environ["AIRFLOW_CONN_HOSTILE"], max_pages=MAX_PAGES)
    records: list[dict[str, Any]] = []
    with pytest.raises(SmartArenaError, match=EXPLAINED[case]):
        records.extend(hook.iter_user_courses())
    # Reading on past a paginator that contradicts itself gets every record, and still fails:
    # its total says there are more.
    endless_or_lying = ("a paginator that never ends", "a paginator that contradicts itself")
    assert len(records) < len(platform.records) or case in endless_or_lying


# ---------------------------------------------------------------------------------------------
# records whose fields have the wrong types


BAD_FIELDS = [
    pytest.param(("progress", "almost done"), id="progress-text"),
    pytest.param(("time_on_course", "1h 20m"), id="time-on-course-text"),
    pytest.param(("updated_at", "yesterday"), id="updated-at-text"),
    pytest.param(("status", {"code": 2}), id="status-object"),
]


@pytest.fixture(params=BAD_FIELDS)
def bad_field(request: pytest.FixtureRequest, warehouse: Warehouse, platform: Platform) -> str:
    """After a good run, 8 activities change and one of them (on page 2 of the changes) has a
    field of the wrong type; that field's name."""
    field, value = request.param
    extract(warehouse)
    platform.touch(count=8)
    platform.records[5][field] = value
    return str(field)


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_record_with_a_wrong_type_never_moves_the_watermark(
    warehouse: Warehouse, platform: Platform, bad_field: str
) -> None:
    before = stored_watermark(warehouse)
    with pytest.raises(Exception):  # noqa: B017  (which exception is the next test's business)
        extract(warehouse)
    assert stored_watermark(warehouse) == before
    assert check_rows(warehouse.rows(TABLE), platform.records).duplicated == 0


@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_a_record_with_a_wrong_type_is_a_clear_smartarena_error(
    warehouse: Warehouse, platform: Platform, bad_field: str
) -> None:
    # Found by this suite: a bare ValueError/TypeError naming neither record nor field (fixed in
    # transfers/_loader.py RowBuilder.build by its owner during this work).
    with pytest.raises(SmartArenaResponseError) as info:
        extract(warehouse)
    assert bad_field in str(info.value)
    assert platform.records[5]["user_mapping_code"] in str(info.value)


# ---------------------------------------------------------------------------------------------
# a server that echoes what it was sent


def test_a_server_echoing_the_password_does_not_put_it_in_the_error(scripted: Any, make_hook: Any) -> None:
    password = "Echoed-Passw0rd-6152"

    def route(request: Request) -> Reply:
        sent = request.json() or {}
        message = f"The password {sent.get('password')} is too weak."
        return Reply(422, {"message": "The given data was invalid.", "errors": {"password": [message]}})

    hook = make_hook(connection_json(scripted(route).url))
    with pytest.raises(SmartArenaError) as info:
        hook.create_user("u-1", "a@example.com", "A", "B", password=password)
    assert "too weak" in str(info.value)
    assert password not in str(info.value)


# ---------------------------------------------------------------------------------------------
# property-based: whatever the server says, a result or a SmartArenaError


json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
record = st.dictionaries(
    st.sampled_from(["id", "mapping_code", "user_mapping_code", "course_mapping_code", "name"]),
    json_leaves,
    max_size=4,
)
envelope = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(record, max_size=4) | json_values,
        "current_page": json_leaves,
        "last_page": st.integers(-2, 5) | json_leaves,
        "per_page": st.integers(-1, 5) | json_leaves,
        "total": st.integers(-1, 30) | json_leaves,
        "next_page_url": st.none() | st.text(max_size=10),
        "message": json_leaves,
        "error": json_leaves,
        "success": json_leaves,
        "meta": st.dictionaries(st.sampled_from(["current_page", "last_page", "total"]), json_leaves),
        "links": st.dictionaries(st.just("next"), st.none() | st.text(max_size=10)),
    },
)
bodies = envelope.map(json.dumps) | st.lists(record, max_size=5).map(json.dumps) | json_values.map(json.dumps)
raw_bodies = bodies.map(str.encode) | st.binary(max_size=40) | st.just(HTML) | st.just(b"")
statuses = st.sampled_from([200, 200, 200, 201, 204, 302, 400, 401, 403, 404, 405, 409, 422, 429, 500, 503])
PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Mutable:
    """A scripted server whose answer the property sets before each call."""

    def __init__(self) -> None:
        self.reply = Reply(200, {"data": []})
        self.pages: list[Reply] = []
        self.server = ScriptedServer(self.route)

    def route(self, request: Request) -> Reply:
        if self.pages:
            number = int(request.query.get("page", 1))
            return self.pages[min(number, len(self.pages)) - 1]
        return self.reply


@pytest.fixture(scope="module")
def mutable() -> Iterator[Mutable]:
    server = Mutable()
    yield server
    server.server.close()


@pytest.fixture(scope="module")
def mutable_hook(mutable: Mutable) -> Iterator[SmartArenaHook]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_MUTABLE", connection_json(mutable.server.url, max_retries=0))
        hook = SmartArenaHook("mutable", max_pages=MAX_PAGES, **FAST)
        yield hook
        hook.close()


@PROPERTY
@given(status=statuses, body=raw_bodies, retry_after=st.none() | st.text(max_size=8))
def test_any_answer_to_a_read_is_records_or_a_smartarena_error(
    mutable: Mutable, mutable_hook: SmartArenaHook, status: int, body: bytes, retry_after: str | None
) -> None:
    headers = {"Retry-After": retry_after} if retry_after and retry_after.isprintable() else {}
    mutable.pages = []
    mutable.reply = Reply(status, raw=body, headers=headers)
    try:
        users = mutable_hook.get_users()
    except SmartArenaError:
        return
    assert isinstance(users, list)
    assert all(isinstance(u, dict) for u in users)


@PROPERTY
@given(status=statuses, body=raw_bodies)
def test_any_answer_to_a_write_is_a_result_or_a_smartarena_error(
    mutable: Mutable, mutable_hook: SmartArenaHook, status: int, body: bytes
) -> None:
    mutable.pages = []
    mutable.reply = Reply(status, raw=body)
    try:
        result = mutable_hook.update_location("l-1", name="Ljubljana")
    except SmartArenaError:
        return
    assert isinstance(result, dict)


@PROPERTY
@given(pages=st.lists(envelope, min_size=1, max_size=5))
def test_any_paginator_ends_with_every_record_served_or_a_smartarena_error(
    mutable: Mutable, mutable_hook: SmartArenaHook, pages: list[dict[str, Any]]
) -> None:
    mutable.pages = [Reply(200, page) for page in pages]
    before = len(mutable.server.api_requests())
    served: list[dict[str, Any]] = []
    try:
        records = list(mutable_hook.iter_user_courses())
    except SmartArenaError:
        return
    finally:
        requests = mutable.server.api_requests()[before:]
        assert len(requests) <= MAX_PAGES  # the page cap holds, whatever the metadata says
        answers: list[list[Any]] = []
        for request in requests:
            page = mutable.pages[min(int(request.query.get("page", 1)), len(mutable.pages)) - 1].body
            data = page.get("data") if isinstance(page, dict) else None
            answers.append(data if isinstance(data, list) else [])
        # A page that is exactly the page before it ends the listing (a server ignoring ``page``
        # there): its records are that page's again, not new ones.
        if len(answers) >= 2 and answers[-1] == answers[-2]:
            answers.pop()
        served = [record for answer in answers for record in answer]
    assert records == served  # nothing that was served is dropped


@PROPERTY
@given(token_reply=json_values, status=st.sampled_from([200, 200, 400, 401, 500]))
def test_any_token_answer_is_a_token_or_a_smartarena_error(
    mutable: Mutable, status: int, token_reply: Any
) -> None:
    mutable.pages = []
    mutable.reply = Reply(200, {"data": []})
    mutable.server.token_reply = Reply(status, token_reply)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_TOKENS", connection_json(mutable.server.url, max_retries=0))
        hook = SmartArenaHook("tokens", **FAST)
        try:
            assert hook.get_users() == []
        except SmartArenaError:
            pass
        finally:
            hook.close()
            mutable.server.token_reply = Reply(200, {"access_token": "t-0123456789", "expires_in": 3600})
