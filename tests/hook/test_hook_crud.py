"""Every typed hook method against the sandbox: reads, creates, updates, deletes, enrolment, rename."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest

from airflow_provider_smartarena.enums import CourseType, DeleteMode, Language, Role, Sort
from airflow_provider_smartarena.exceptions import (
    SmartArenaForbiddenError,
    SmartArenaNotFoundError,
    SmartArenaValidationError,
)
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.resources import USERS


def _by_code(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["mapping_code"]: r for r in records}


def test_users_lifecycle(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    created = hook.create_user(
        "hr-1",
        "ana.novak@example.com",
        "Ana",
        "Novak",
        date_of_birth=pendulum.date(1990, 5, 17),
        branch_mapping_code="br-001",
        location_mapping_code="loc-001",
        workplace_mapping_code="wp-001",
        username="ana.novak",
        password="s3cret-Passw0rd",
        language_code=Language.SLOVENIAN,
        register_mail=False,
        roles=["hr_manager", 6],
        synch_protected=0,
    )
    assert created["data"]["mapping_code"] == "hr-1"
    user = hook.get_user("hr-1")
    assert user is not None
    assert (user["email"], user["date_of_birth"], user["language_code"]) == (
        "ana.novak@example.com",
        "1990-05-17",
        3,
    )
    assert sorted(user["roles"]) == [Role.HR_MANAGER, Role.USER]
    truth = _by_code(fresh_sandbox.state("users"))["hr-1"]
    assert truth["has_password"] == 1
    assert truth["register_mail"] == 0

    hook.update_user("hr-1", lastname="Kovač", roles=[Role.UNIT_MANAGER], date_of_birth="1990-05-18")
    user = hook.get_user("hr-1")
    assert user is not None
    assert (user["lastname"], user["roles"], user["date_of_birth"]) == ("Kovač", [11], "1990-05-18")
    assert user["firstname"] == "Ana"  # None means "not sent", so unchanged

    assert [u["mapping_code"] for u in hook.get_users(email="ANA.NOVAK@example.com")] == ["hr-1"]
    assert [u["mapping_code"] for u in hook.get_users(mapping_code="hr-1")] == ["hr-1"]
    assert len(hook.get_users()) == 51

    hook.delete_user("hr-1", delete_mode=DeleteMode.PARTIAL)
    user = hook.get_user("hr-1")
    assert user is not None
    assert user["active"] == 0
    hook.delete_user("hr-1")
    assert hook.get_user("hr-1") is None
    assert hook.get_users(mapping_code="hr-1") == []


def test_user_errors_map_to_exceptions(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    existing = fresh_sandbox.state("users")[0]
    with pytest.raises(SmartArenaValidationError) as info:
        hook.create_user(existing["mapping_code"], "someone.new@example.com", "A", "B")
    assert "mapping_code" in info.value.errors
    assert (info.value.method, info.value.path, info.value.status) == ("POST", "/api/users", 422)
    with pytest.raises(SmartArenaNotFoundError) as missing:
        hook.update_user("nobody-here", firstname="X")
    assert missing.value.status == 404
    protected = next(u for u in fresh_sandbox.state("users") if u["synch_protected"])
    with pytest.raises(SmartArenaForbiddenError):
        hook.update_user(protected["mapping_code"], firstname="X")


@pytest.mark.parametrize(
    ("kind", "parent"),
    [("branch", "root"), ("location", None), ("workplace", None), ("qualification", "root")],
)
def test_org_resources_lifecycle(hook: SmartArenaHook, kind: str, parent: str | None) -> None:
    plural = {
        "branch": "branches",
        "location": "locations",
        "workplace": "workplaces",
        "qualification": "qualifications",
    }
    create, update = getattr(hook, f"create_{kind}"), getattr(hook, f"update_{kind}")
    get_one, get_all, delete = (
        getattr(hook, f"get_{kind}"),
        getattr(hook, f"get_{plural[kind]}"),
        getattr(hook, f"delete_{kind}"),
    )
    before = len(get_all())
    args = ("new-1", parent, "First") if parent else ("new-1", "First")
    assert create(*args)["data"]["name"] == "First"
    assert get_one("new-1")["name"] == "First"
    assert [r["mapping_code"] for r in get_all(mapping_code="new-1")] == ["new-1"]
    assert len(get_all()) == before + 1
    update("new-1", name="Second")
    assert get_one("new-1")["name"] == "Second"
    if parent:
        create("new-2", "new-1", "Child")
        update("new-2", parent_mapping_code="root")
        assert get_one("new-2")["parent_mapping_code"] == "root"
        delete("new-2")
    delete("new-1")
    assert get_one("new-1") is None
    with pytest.raises(SmartArenaNotFoundError):
        delete("new-1")


def test_courses_lifecycle_enrolment_and_rename(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    users = [u["mapping_code"] for u in fresh_sandbox.state("users") if not u["synch_protected"]][:4]
    created = hook.create_course(
        "crs-new",
        "Fire safety",
        dt.date(2025, 3, 1),
        end_date="2025-12-31",
        type=CourseType.BLENDED,
        assessment_on_end=True,
        number_of_attempts=3,
        content_id=1,
        users_mapping_codes=users[:2],
    )
    assert created["data"]["mapping_code"] == "crs-new"
    course = hook.get_course("crs-new")
    assert course is not None
    assert (course["start_date"], course["end_date"], course["type"]) == ("2025-03-01", "2025-12-31", 2)
    assert sorted(course["users"]) == sorted(users[:2])

    hook.update_course("crs-new", title="Fire safety 2025", mandatory_time=30)
    assert hook.get_course("crs-new")["title"] == "Fire safety 2025"  # type: ignore[index]

    added = hook.add_course_users("crs-new", users[1:4])
    assert added["added"] == users[2:4]
    assert added["already_enrolled"] == [users[1]]
    assert hook.add_course_users("crs-new", users[1:4])["added"] == []  # a set operation: repeatable
    removed = hook.remove_course_users("crs-new", [users[0]])
    assert removed["removed"] == [users[0]]
    assert sorted(hook.get_course("crs-new")["users"]) == sorted(users[1:4])  # type: ignore[index]
    enrolled = {
        a["user_mapping_code"]
        for a in fresh_sandbox.state("usercourses")
        if a["course_mapping_code"] == "crs-new"
    }
    assert enrolled == set(users[1:4])

    renamed = hook.rename_course("crs-new", "crs-renamed")
    assert renamed["data"]["mapping_code"] == "crs-renamed"
    assert hook.get_course("crs-new") is None
    assert hook.get_course("crs-renamed") is not None

    hook.delete_course("crs-renamed", delete_mode=DeleteMode.PARTIAL)
    assert hook.get_course("crs-renamed")["archived"] == 1  # type: ignore[index]
    assert "crs-renamed" not in {c["mapping_code"] for c in hook.get_courses(archived=False)}
    hook.delete_course("crs-renamed")
    assert hook.get_course("crs-renamed") is None


def test_courses_paging_filters_and_sort(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    fresh_sandbox.set_faults(page_size=3)
    truth = fresh_sandbox.state("courses")
    fresh_sandbox.reset_stats()
    courses = hook.get_courses()
    assert sorted(c["mapping_code"] for c in courses) == sorted(c["mapping_code"] for c in truth)
    assert fresh_sandbox.stats()["by_route"]["GET /api/courses"] == 4  # 10 courses, 3 a page
    dates = [c["start_date"] for c in hook.get_courses(sort=Sort.DATE_DESC)]
    assert dates == sorted(dates, reverse=True)
    assert [c["start_date"] for c in hook.iter_courses(sort="date_asc")] == sorted(dates)
    active = {c["mapping_code"] for c in truth if not c["archived"]}
    assert {c["mapping_code"] for c in hook.get_courses(archived=0)} == active
    in_person = {c["mapping_code"] for c in truth if 5 in c["filter_types"]}
    assert {c["mapping_code"] for c in hook.get_courses(type="in_person")} == in_person
    one = truth[0]["mapping_code"]
    assert [c["mapping_code"] for c in hook.get_courses(mapping_code=one)] == [one]


def test_content(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    truth = fresh_sandbox.state("content")
    assert len(hook.get_content()) == len(truth)
    public = sorted(c["id"] for c in truth if c["public"] == 1)
    assert sorted(c["id"] for c in hook.get_content(content_type=1)) == public
    internal = sorted(c["id"] for c in truth if c["public"] == 0)
    assert sorted(c["id"] for c in hook.get_content(content_type="internal")) == internal


def test_get_record_ignores_wrong_records_from_a_server_ignoring_the_filter(hook: SmartArenaHook) -> None:
    # Ask the generic layer with a filter the sandbox honours, then prove exact matching on a
    # listing that returns everything: only the exact mapping_code may come back.
    assert hook.get_record("user", "u-00001")["mapping_code"] == "u-00001"  # type: ignore[index]
    assert hook.get_record(USERS, "u-0000") is None


def test_generic_layer(hook: SmartArenaHook) -> None:
    assert hook.list_records("location", mapping_code="loc-001")[0]["mapping_code"] == "loc-001"
    body = hook.call(USERS.list, mapping_code="u-00002")
    assert body["data"][0]["mapping_code"] == "u-00002"
    hook.create_record("location", {"mapping_code": "gen-1", "name": "G"})
    hook.update_record("location", {"mapping_code": "gen-1", "name": "H"})
    assert hook.get_location("gen-1")["name"] == "H"  # type: ignore[index]
    hook.delete_record("location", "gen-1")
    assert hook.get_location("gen-1") is None


def test_run_concurrently_shares_session_and_token(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    # The duplicate exists before the batch: inside it, which of two racing creates wins is chance.
    # Made by another hook, so that the batch's own hook still starts without a token.
    with SmartArenaHook(hook.smartarena_conn_id) as other:
        other.create_location("bulk-existing", "Existing")
    fresh_sandbox.reset_stats()
    codes = [f"bulk-{i}" for i in range(20)]
    outcomes = hook.run_concurrently(
        lambda code: hook.create_location(code, code.upper()), [*codes, "bulk-existing"]
    )
    assert [o.item for o in outcomes] == [*codes, "bulk-existing"]
    assert all(o.ok for o in outcomes[:20])
    assert not outcomes[20].ok
    assert isinstance(outcomes[20].error, SmartArenaValidationError)
    assert fresh_sandbox.stats()["token_requests"] == 1
    assert {c for c in codes} <= {r["mapping_code"] for r in hook.get_locations()}


def test_server_now_comes_from_the_date_header(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    fresh_sandbox.clock(now="2030-06-01 12:00:00", frozen=True)
    now = hook.server_now()
    assert now.tzinfo is not None
    assert now == dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
    pages = list(hook.iter_user_course_pages())
    assert pages[0].server_date == now
