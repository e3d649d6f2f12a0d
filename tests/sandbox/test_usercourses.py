"""/api/usercourses: returned fields, filters, strict updated_at, time zones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

from .conftest import Api, read_all, records
from .documented import CATEGORY_FIELDS

DOCUMENTED = set(
    [
        "course_mapping_code",
        "course_title",
        "user_mapping_code",
        "user_name",
        "user_surname",
        "user_email",
        "organizational_unit_mapping_code",
        "location_mapping_code",
        "created_at",
        "updated_at",
        "date_start",
        "date_completed",
        "progress",
        "score",
        "time_on_course",
        "certificate_link",
        "statement_link",
        "parent_course_mapping_code",
        *CATEGORY_FIELDS,
        "status",
        "access_end_date",
        "has_access",
        "assessment_url",
        "live_sessions",
    ]
)
FORMAT = "%Y-%m-%d %H:%M:%S"


def shift(stamp: str, seconds: int) -> str:
    return (datetime.strptime(stamp, FORMAT) + timedelta(seconds=seconds)).strftime(FORMAT)


def test_every_documented_field_and_modules(read_api: Api) -> None:
    rows = records(read_api.ok(read_api.get("/api/usercourses")))
    assert len(rows) == 100
    for row in rows:
        assert set(row) == DOCUMENTED | {"id", "modules"}
    without = records(read_api.ok(read_api.get("/api/usercourses", modules_data=0)))
    assert all("modules" not in row for row in without)
    assert read_api.get("/api/usercourses", modules_data=2).status_code == 422


def test_seeded_history_is_consistent(sandbox: SandboxServer) -> None:
    body = sandbox.admin("GET", "state?resource=usercourses&modules_data=0")
    activities, now = body["usercourses"], body["now"]
    statuses = {a["status"] for a in activities}
    assert statuses == {0, 1, 2, 3, 4}
    for a in activities:
        assert a["created_at"] <= a["updated_at"] <= now
        assert (a["date_start"] is None) == (a["status"] == 0)
        assert (a["date_completed"] is None) == (a["status"] < 2)
        expected_progress = {0: range(0, 1), 1: range(1, 100)}.get(a["status"], range(100, 101))
        assert a["progress"] in expected_progress
        assert (a["certificate_link"] is not None) == (a["status"] == 3)
        if a["date_completed"]:
            assert a["date_start"] <= a["date_completed"] <= a["updated_at"]


def test_ordered_by_updated_at_then_id(read_api: Api) -> None:
    rows, _ = read_all(read_api, "/api/usercourses", modules_data=0)
    keys = [(r["updated_at"], r["id"]) for r in rows]
    assert keys == sorted(keys)
    assert len({r["id"] for r in rows}) == len(rows) == 500


def test_updated_at_is_strictly_after(read_api: Api) -> None:
    truth = read_api.server.state("usercourses", modules_data=False)
    boundary = truth[250]["updated_at"]
    rows, _ = read_all(read_api, "/api/usercourses", updated_at=boundary, modules_data=0)
    assert {r["id"] for r in rows} == {a["id"] for a in truth if a["updated_at"] > boundary}
    assert truth[250]["id"] not in {r["id"] for r in rows}
    earlier, _ = read_all(read_api, "/api/usercourses", updated_at=shift(boundary, -1), modules_data=0)
    assert truth[250]["id"] in {r["id"] for r in earlier}


def test_updated_at_accepts_date_and_iso_forms(read_api: Api) -> None:
    truth = read_api.server.state("usercourses", modules_data=False)
    day = truth[100]["updated_at"][:10]
    rows, _ = read_all(read_api, "/api/usercourses", updated_at=day, modules_data=0)
    assert {r["id"] for r in rows} == {a["id"] for a in truth if a["updated_at"] > f"{day} 00:00:00"}
    iso, _ = read_all(read_api, "/api/usercourses", updated_at=f"{day}T00:00:00Z", modules_data=0)
    assert iso == rows


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024-01-01 25:00:00", "1700000000"])
def test_bad_updated_at_is_422(read_api: Api, bad: str) -> None:
    response = read_api.get("/api/usercourses", updated_at=bad)
    assert response.status_code == 422
    assert "updated_at" in response.json()["errors"]


def test_date_finished_filter(read_api: Api) -> None:
    truth = read_api.server.state("usercourses", modules_data=False)
    done = sorted(a["date_completed"] for a in truth if a["date_completed"])
    cut = done[len(done) // 2]
    rows, _ = read_all(read_api, "/api/usercourses", date_finished=cut, modules_data=0)
    expected = [a["id"] for a in truth if a["date_completed"] and a["date_completed"] > cut]
    assert [r["id"] for r in rows] == expected
    by_day, _ = read_all(read_api, "/api/usercourses", date_finished=cut[:10], modules_data=0)
    assert {r["id"] for r in by_day} == {
        a["id"] for a in truth if a["date_completed"] and a["date_completed"] > cut[:10]
    }


def test_user_filter_combined_with_updated_at(read_api: Api) -> None:
    truth = read_api.server.state("usercourses", modules_data=False)
    code = truth[0]["user_mapping_code"]
    mine = [a for a in truth if a["user_mapping_code"] == code]
    rows, _ = read_all(read_api, "/api/usercourses", user_mapping_code=code, modules_data=0)
    assert [r["id"] for r in rows] == [a["id"] for a in mine]
    cut = mine[0]["updated_at"]
    later, _ = read_all(read_api, "/api/usercourses", user_mapping_code=code, updated_at=cut, modules_data=0)
    assert [r["id"] for r in later] == [a["id"] for a in mine if a["updated_at"] > cut]


@pytest.mark.parametrize("wanted", [1, 5, 254, 253])
def test_type_filter(read_api: Api, wanted: int) -> None:
    courses = {c["mapping_code"]: c for c in read_api.server.state("courses")}
    truth = read_api.server.state("usercourses", modules_data=False)
    rows, _ = read_all(read_api, "/api/usercourses", type=wanted, modules_data=0)
    expected = [a["id"] for a in truth if wanted in courses[a["course_mapping_code"]]["filter_types"]]
    assert expected
    assert [r["id"] for r in rows] == expected


def test_timezone_flag_renders_local_time() -> None:
    options: dict[str, Any] = {"seed": 3, "users": 10, "courses": 4, "activities": 30, "in_thread": True}
    with run_sandbox(**options) as utc_box, run_sandbox(timezone="Europe/Ljubljana", **options) as local_box:
        utc_rows = utc_box.state("usercourses", modules_data=False)
        local_rows = local_box.state("usercourses", modules_data=False)
        zone = ZoneInfo("Europe/Ljubljana")
        for utc_row, local_row in zip(utc_rows, local_rows, strict=True):
            instant = datetime.strptime(utc_row["updated_at"], FORMAT).replace(tzinfo=ZoneInfo("UTC"))
            assert local_row["updated_at"] == instant.astimezone(zone).strftime(FORMAT)
        # The filter reads its value in the server's zone: the local stamp of a row excludes that row.
        api = Api(local_box)
        boundary = local_rows[15]
        rows, _ = read_all(api, "/api/usercourses", updated_at=boundary["updated_at"], modules_data=0)
        assert [r["id"] for r in rows] == [
            r["id"] for r in local_rows if r["updated_at"] > boundary["updated_at"]
        ]
        offset = int(
            datetime.strptime(boundary["updated_at"], FORMAT).replace(tzinfo=zone).utcoffset().total_seconds()  # type: ignore[union-attr]
        )
        as_utc = shift(boundary["updated_at"], -offset)
        with_offset, _ = read_all(api, "/api/usercourses", updated_at=as_utc + "Z", modules_data=0)
        assert with_offset == rows


def test_cached_records_follow_every_change_they_are_made_of(api: Api, fresh_sandbox: SandboxServer) -> None:
    """Listed records are cached encoded; after each kind of change the listing is the ground truth."""

    def listed(**params: Any) -> dict[tuple[str, str], dict[str, object]]:
        rows, _ = read_all(api, "/api/usercourses", **params)
        return {(r["user_mapping_code"], r["course_mapping_code"]): r for r in rows}

    def truth() -> dict[tuple[str, str], dict[str, object]]:
        rows = fresh_sandbox.state("usercourses")
        return {(r["user_mapping_code"], r["course_mapping_code"]): r for r in rows}

    first = listed()  # renders and caches every record
    assert first == truth()
    user_code, course_code = next(iter(first))
    course = next(c for c in fresh_sandbox.state("courses") if c["mapping_code"] == course_code)

    api.ok(api.put("/api/users", {"mapping_code": user_code, "firstname": "Renamed", "active": 0}))
    after = listed()
    assert after == truth()
    assert after[(user_code, course_code)]["user_name"] == "Renamed"
    assert after[(user_code, course_code)]["has_access"] == 0

    api.ok(api.put("/api/courses", {"mapping_code": course_code, "title": "Retitled"}))
    after = listed()
    assert after == truth()
    assert course["title"] != "Retitled"
    assert all(r["course_title"] == "Retitled" for k, r in after.items() if k[1] == course_code)

    fresh_sandbox.tick(changes=25)
    assert listed() == truth()
    fresh_sandbox.clock(advance_seconds=400 * 86400)  # today moves on: access ends
    assert listed() == truth()
    fresh_sandbox.set_faults(timezone="Europe/Ljubljana")
    assert listed() == truth()
    assert all("modules" not in r for r in listed(modules_data=0).values())
    assert all("modules" in r for r in listed().values())
