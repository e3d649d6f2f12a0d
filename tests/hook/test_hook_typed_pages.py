"""``record_type``: pages decoded straight into msgspec structs, and the fall-back to dicts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from airflow_provider_smartarena.hooks._paging import PageMeta, typed_decoder
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .scripted import Reply, connection_json


class Activity(msgspec.Struct):
    user_mapping_code: str | None = None
    course_mapping_code: str | None = None
    progress: int | None = None
    modules: Any = None


RECORDS = [
    {"user_mapping_code": "u-1", "course_mapping_code": "c-1", "progress": 10, "modules": [{"id": 1}]},
    {"user_mapping_code": "u-2", "course_mapping_code": "c-1", "progress": 0, "extra": "ignored"},
]


def decode(body: Any) -> Any:
    return typed_decoder(Activity)(json.dumps(body).encode())


def test_a_bare_list_and_a_data_object_decode_typed() -> None:
    for body in (RECORDS, {"data": RECORDS}):
        listing = decode(body)
        assert [r.user_mapping_code for r in listing.records] == ["u-1", "u-2"]
        assert listing.records[0].modules == [{"id": 1}]
        assert listing.meta == PageMeta()


def test_a_paginator_keeps_its_metadata() -> None:
    body = {
        "current_page": 2,
        "data": RECORDS,
        "last_page": 3,
        "per_page": 2,
        "total": 6,
        "next_page_url": None,
    }
    meta = decode(body).meta
    assert (meta.current_page, meta.last_page, meta.per_page, meta.total) == (2, 3, 2, 6)
    assert meta.has_next_link
    assert meta.next_link is None
    nested = decode(
        {"data": RECORDS, "meta": {"last_page": 5, "total": 9}, "links": {"next": "http://x/?page=2"}}
    )
    assert (nested.meta.last_page, nested.meta.total, nested.meta.next_link) == (5, 9, "http://x/?page=2")
    assert not decode({"data": RECORDS}).meta.has_next_link


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{**RECORDS[0], "progress": "10"}]},  # a number as text: typed strictly, so refused
        {"data": {"data": RECORDS, "last_page": 1}},  # a paginator inside data
        {"items": RECORDS},  # an unknown envelope
        {"data": [], "error": "Unauthenticated."},  # an error in disguise
        {"data": [], "success": False},
        [1, 2],
        "not a listing",
    ],
)
def test_what_does_not_fit_is_left_to_the_general_decoding(body: Any) -> None:
    assert decode(body) is None


MakeHook = Callable[..., SmartArenaHook]


@pytest.mark.parametrize("envelope", ["laravel", "data", "list", "mixed"])
def test_typed_pages_hold_the_same_records_as_dict_pages(
    fresh_sandbox: Any, make_hook: MakeHook, envelope: str
) -> None:
    fresh_sandbox.set_faults(envelope=envelope, page_size=40)
    hook = make_hook(fresh_sandbox.connection_json())
    plain = [r for page in hook.iter_user_course_pages(max_concurrency=3) for r in page.records]
    typed_pages = list(hook.iter_user_course_pages(max_concurrency=3, record_type=Activity))
    typed = [r for page in typed_pages for r in page.records]
    assert all(type(r) is Activity for r in typed)
    fields = Activity.__struct_fields__
    assert [msgspec.structs.asdict(r) for r in typed] == [{f: r.get(f) for f in fields} for r in plain]
    assert len(typed) == len(fresh_sandbox.state("usercourses"))


def test_a_page_that_does_not_fit_comes_as_dicts(scripted: Any, make_hook: MakeHook) -> None:
    pages = {
        "1": {"current_page": 1, "last_page": 2, "total": 2, "data": [RECORDS[0]]},
        "2": {"current_page": 2, "last_page": 2, "total": 2, "data": [{**RECORDS[1], "progress": "5"}]},
    }
    server = scripted(lambda request: Reply(200, pages[request.query.get("page", "1")]))
    hook = make_hook(connection_json(server.url))
    first, second = hook.iter_user_course_pages(record_type=Activity)
    assert type(first.records[0]) is Activity
    assert second.records == [{**RECORDS[1], "progress": "5"}]
