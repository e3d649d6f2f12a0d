"""/api/content, /api/courses (+ addusers/removeusers) and /api/coursemappingcode."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api, read_all, records
from .documented import CATEGORY_FIELDS

COURSE_FIELDS = set(
    [
        "id",
        "mapping_code",
        "title",
        "start_date",
        "end_date",
        "type",
        "assessment_on_end",
        "number_of_attempts",
        "assessment_show_questions_at_end",
        "mandatory_time",
        "prerequired_content",
        "content_id",
        "confirmation_of_completion",
        "access_days_from_enrollment",
        *CATEGORY_FIELDS,
        "users",
        "content",
        "instructor",
        "live_sessions",
    ]
)
CONTENT_FIELDS = set(
    [
        "id",
        "title",
        "description",
        "short_description",
        "is_published",
        "duration_hour",
        "duration_minute",
        "publish_date",
        "content_requirements",
        "content_goals",
        "target_audience",
        "step_count",
    ]
)
NEW_COURSE = {"mapping_code": "new-1", "title": "Varnost pri delu 2026", "start_date": "2026-01-15"}


def test_content_filter(read_api: Api) -> None:
    everything = records(read_api.ok(read_api.get("/api/content")))
    assert everything
    assert all(set(c) == CONTENT_FIELDS for c in everything)
    truth = {c["id"]: c["public"] for c in read_api.server.state("content")}
    internal = records(read_api.ok(read_api.get("/api/content", content_type=0)))
    public = records(read_api.ok(read_api.get("/api/content", content_type=1)))
    assert {c["id"] for c in internal} == {i for i, p in truth.items() if p == 0}
    assert {c["id"] for c in public} == {i for i, p in truth.items() if p == 1}
    assert read_api.get("/api/content", content_type=2).status_code == 422


def test_courses_have_every_documented_field(read_api: Api) -> None:
    courses, _ = read_all(read_api, "/api/courses")
    assert len(courses) == 10
    for course in courses:
        assert set(course) >= COURSE_FIELDS
    types = {c["type"] for c in courses}
    assert types == {1, 2, 3}
    live = [c for c in courses if c["type"] in (2, 3)]
    assert all(c["live_sessions"] and c["instructor"] for c in live)


def test_course_sort_and_archived(read_api: Api) -> None:
    asc, _ = read_all(read_api, "/api/courses")
    desc, _ = read_all(read_api, "/api/courses", sort="date_desc")
    assert [c["start_date"] for c in asc] == sorted(c["start_date"] for c in asc)
    assert [c["id"] for c in desc] == [c["id"] for c in reversed(asc)]
    truth = {c["mapping_code"]: c for c in read_api.server.state("courses")}
    active, _ = read_all(read_api, "/api/courses", archived=0)
    assert {c["mapping_code"] for c in active} == {k for k, c in truth.items() if not c["archived"]}


@pytest.mark.parametrize("wanted", [1, 5, 254, 253])
def test_course_type_filter(read_api: Api, wanted: int) -> None:
    truth = read_api.server.state("courses")
    expected = {c["mapping_code"] for c in truth if wanted in c["filter_types"]}
    assert expected, "the seed covers every filter type"
    found, _ = read_all(read_api, "/api/courses", type=wanted)
    assert {c["mapping_code"] for c in found} == expected


@pytest.mark.parametrize(
    "params", [{"type": 2}, {"archived": 3}, {"sort": "newest"}, {"page": 0}, {"page": "x"}, {"type": "e"}]
)
def test_course_list_validation(read_api: Api, params: dict[str, Any]) -> None:
    response = read_api.get("/api/courses", **params)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == set(params)


def test_course_by_mapping_code(read_api: Api) -> None:
    body = read_api.ok(read_api.get("/api/courses", mapping_code="c-0002"))
    assert [c["mapping_code"] for c in body["data"]] == ["c-0002"]
    assert read_api.ok(read_api.get("/api/courses", mapping_code="none"))["data"] == []


def test_create_course_with_users(api: Api) -> None:
    body = {**NEW_COURSE, "type": 3, "instructor_mapping_code": "u-00003", "content_id": 1,
            "users_mapping_codes": ["u-00001", "u-00002"], "end_date": "2026-02-01", "number_of_attempts": 3,
            "assessment_on_end": 1, "access_days_from_enrollment": 30}  # fmt: skip
    course = api.ok(api.post("/api/courses", body), 201)["data"]
    assert course["users"] == ["u-00001", "u-00002"]
    assert course["instructor"]["mapping_code"] == "u-00003"
    assert course["content"]["id"] == 1
    activities = records(api.ok(api.get("/api/usercourses", user_mapping_code="u-00001")))
    mine = [a for a in activities if a["course_mapping_code"] == "new-1"]
    assert len(mine) == 1
    assert mine[0]["status"] == 0
    assert mine[0]["progress"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "title"),
        ({"start_date": None}, "start_date"),
        ({"start_date": "15.1.2026"}, "start_date"),
        ({"end_date": "2025-01-01"}, "end_date"),
        ({"type": 4}, "type"),
        ({"type": 5}, "type"),
        ({"assessment_on_end": 3}, "assessment_on_end"),
        ({"number_of_attempts": "many"}, "number_of_attempts"),
        ({"instructor_mapping_code": "nobody"}, "instructor_mapping_code"),
        ({"content_id": 999999}, "content_id"),
        ({"users_mapping_codes": ["u-00001", "nobody"]}, "users_mapping_codes.1"),
        ({"users_mapping_codes": "u-00001"}, "users_mapping_codes"),
        ({"mapping_code": "c-0001"}, "mapping_code"),
    ],
)
def test_create_course_validation(api: Api, change: dict[str, Any], field: str) -> None:
    response = api.post("/api/courses", {**NEW_COURSE, **change})
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_update_course(api: Api) -> None:
    api.ok(api.post("/api/courses", NEW_COURSE), 201)
    updated = api.ok(api.put("/api/courses", {"mapping_code": "new-1", "title": "Renamed", "type": 2}))[
        "data"
    ]
    assert (updated["title"], updated["type"]) == ("Renamed", 2)
    assert api.put("/api/courses", {"mapping_code": "new-1", "end_date": "2020-01-01"}).status_code == 422
    assert api.put("/api/courses", {"mapping_code": "nope", "title": "X"}).status_code == 404


def test_soft_and_permanent_delete(api: Api) -> None:
    api.ok(api.post("/api/courses", {**NEW_COURSE, "users_mapping_codes": ["u-00001"]}), 201)
    api.ok(api.delete("/api/courses", {"mapping_code": "new-1", "delete_mode": 1}))
    assert api.ok(api.get("/api/courses", mapping_code="new-1", archived=0))["data"] == []
    archived = api.ok(api.get("/api/courses", mapping_code="new-1"))["data"]
    assert archived[0]["archived"] == 1
    api.ok(api.delete("/api/courses", {"mapping_code": "new-1"}))
    assert api.ok(api.get("/api/courses", mapping_code="new-1"))["data"] == []
    assert all(a["course_mapping_code"] != "new-1" for a in api.server.state("usercourses"))
    assert api.delete("/api/courses", {"mapping_code": "new-1"}).status_code == 404
    assert api.post("/api/courses", NEW_COURSE).status_code == 201  # the code is free again


def test_add_and_remove_users(api: Api) -> None:
    api.ok(api.post("/api/courses", NEW_COURSE), 201)
    added = api.ok(
        api.post(
            "/api/courses/addusers", {"mapping_code": "new-1", "users_mapping_codes": ["u-00001", "u-00002"]}
        )
    )
    assert added["added"] == ["u-00001", "u-00002"]
    again = api.ok(
        api.post("/api/courses/addusers", {"mapping_code": "new-1", "users_mapping_codes": ["u-00001"]})
    )
    assert again["added"] == []
    assert again["already_enrolled"] == ["u-00001"]
    removed = api.ok(
        api.post("/api/courses/removeusers", {"mapping_code": "new-1", "users_mapping_codes": ["u-00001"]})
    )
    assert removed["removed"] == ["u-00001"]
    assert api.ok(api.get("/api/courses", mapping_code="new-1"))["data"][0]["users"] == ["u-00002"]


@pytest.mark.parametrize("path", ["/api/courses/addusers", "/api/courses/removeusers"])
def test_enrolment_errors(api: Api, path: str) -> None:
    assert api.post(path, {"mapping_code": "nope", "users_mapping_codes": ["u-00001"]}).status_code == 404
    bad_user = api.post(path, {"mapping_code": "c-0001", "users_mapping_codes": ["nobody"]})
    assert "users_mapping_codes.0" in bad_user.json()["errors"]
    assert "users_mapping_codes" in api.post(path, {"mapping_code": "c-0001"}).json()["errors"]
    assert (
        "users_mapping_codes"
        in api.post(path, {"mapping_code": "c-0001", "users_mapping_codes": []}).json()["errors"]
    )
    assert "mapping_code" in api.post(path, {"users_mapping_codes": ["u-00001"]}).json()["errors"]


def test_course_mapping_code_change_moves_activities(api: Api) -> None:
    before = [a for a in api.server.state("usercourses") if a["course_mapping_code"] == "c-0001"]
    assert before
    api.ok(api.post("/api/coursemappingcode", {"old_mapping_code": "c-0001", "new_mapping_code": "renamed"}))
    after = [a for a in api.server.state("usercourses") if a["course_mapping_code"] == "renamed"]
    assert [a["id"] for a in after] == [a["id"] for a in before]
    assert [a["updated_at"] for a in after] == [a["updated_at"] for a in before]
    assert api.ok(api.get("/api/courses", mapping_code="c-0001"))["data"] == []


def test_course_mapping_code_errors(api: Api) -> None:
    rename = "/api/coursemappingcode"
    assert api.post(rename, {"old_mapping_code": "nope", "new_mapping_code": "x"}).status_code == 404
    taken = api.post(rename, {"old_mapping_code": "c-0001", "new_mapping_code": "c-0002"})
    assert "new_mapping_code" in taken.json()["errors"]
    assert set(api.post(rename, {}).json()["errors"]) == {"old_mapping_code", "new_mapping_code"}
