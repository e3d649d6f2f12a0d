"""The API model: what each call accepts, and the errors bad input gets before any request."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pendulum
import pytest

from airflow_provider_smartarena.enums import ActivityStatus, CourseType, Flag, Language, Role, Sort
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.resources import (
    ADD_COURSE_USERS,
    COURSES,
    RENAME_COURSE,
    RESOURCES,
    USER_COURSES,
    USERS,
    to_server_datetime,
)

ANA = {"mapping_code": "e-1", "email": "ana@example.si", "firstname": "Ana", "lastname": "Novak"}


def _error(endpoint, values, tz="UTC") -> SmartArenaInputError:
    with pytest.raises(SmartArenaInputError) as info:
        endpoint.prepare(values, tz)
    return info.value


def test_create_user_converts_enums_dates_and_drops_none() -> None:
    params = USERS.create.prepare(
        {
            **ANA,
            "roles": [Role.USER, "hr_manager", 6],
            "language_code": "SLOVENIAN",
            "date_of_birth": dt.date(1990, 1, 2),
            "register_mail": True,
            "branch_mapping_code": None,
        }
    )
    assert params == {
        **ANA,
        "roles": [6, 4],
        "language_code": 3,
        "date_of_birth": "1990-01-02",
        "register_mail": 1,
    }


@pytest.mark.parametrize(
    ("values", "field", "allowed"),
    [
        ({"mapping_code": "e-1"}, "email", "e-mail"),
        ({**ANA, "roles": [7]}, "roles", "4 (HR_MANAGER)"),
        ({**ANA, "roles": []}, "roles", "4 (HR_MANAGER)"),
        ({**ANA, "language_code": 2}, "language_code", "39 (CROATIAN)"),
        ({**ANA, "date_of_birth": "22.07.2017"}, "date_of_birth", "yyyy-mm-dd"),
        ({**ANA, "date_of_birth": "2017-02-30"}, "date_of_birth", "yyyy-mm-dd"),
        ({**ANA, "email": "not-an-email"}, "email", "e-mail"),
        ({**ANA, "mapping_code": ""}, "mapping_code", "mapping code"),
        ({**ANA, "mapping_code": "x" * 256}, "mapping_code", "255"),
        ({**ANA, "synch_protected": 2}, "synch_protected", "0 (NO), 1 (YES)"),
        ({**ANA, "nickname": "A"}, "nickname", "firstname"),
    ],
)
def test_bad_user_input_names_the_field_and_what_is_allowed(values, field, allowed) -> None:
    err = _error(USERS.create, values)
    assert err.field == field
    assert allowed in str(err)


def test_password_never_appears_in_an_error() -> None:
    err = _error(USERS.create, {**ANA, "password": ["hunter2-secret"]})
    assert err.field == "password"
    assert "hunter2-secret" not in str(err)


def test_update_needs_only_the_key_and_rejects_create_only_fields() -> None:
    assert USERS.update.prepare({"mapping_code": "e-1", "lastname": "Kos"}) == {
        "mapping_code": "e-1",
        "lastname": "Kos",
    }
    assert _error(USERS.update, {"mapping_code": "e-1", "register_mail": 1}).field == "register_mail"


def test_course_create_and_list_types_are_different_enums() -> None:
    params = COURSES.create.prepare(
        {"mapping_code": "c-1", "title": "Safety", "start_date": "2026-01-05", "type": CourseType.BLENDED}
    )
    assert params["type"] == 2
    assert COURSES.list.prepare({"type": 254, "sort": Sort.DATE_DESC, "archived": False}) == {
        "type": 254,
        "sort": "date_desc",
        "archived": 0,
    }
    assert _error(COURSES.list, {"type": 2}).field == "type"
    assert _error(COURSES.list, {"sort": "newest"}).field == "sort"


def test_updated_at_is_sent_on_the_server_clock() -> None:
    aware = pendulum.datetime(2026, 1, 1, 12, 0, 0, tz="UTC")
    assert USER_COURSES.prepare({"updated_at": aware}, "Europe/Ljubljana") == {
        "updated_at": "2026-01-01 13:00:00"
    }
    assert USER_COURSES.prepare({"updated_at": "2026-01-01 12:00:00"}, "Europe/Ljubljana") == {
        "updated_at": "2026-01-01 12:00:00"
    }
    assert USER_COURSES.prepare({"updated_at": "2026-01-01T12:00:00Z"}, ZoneInfo("UTC")) == {
        "updated_at": "2026-01-01 12:00:00"
    }
    assert USER_COURSES.prepare({"date_finished": dt.date(2026, 2, 1)}) == {"date_finished": "2026-02-01"}
    assert _error(USER_COURSES, {"updated_at": "yesterday"}).field == "updated_at"


def test_to_server_datetime_keeps_naive_values_and_converts_aware_ones() -> None:
    tz = ZoneInfo("Europe/Ljubljana")
    assert to_server_datetime("2026-07-01 10:00:00", tz) == dt.datetime(2026, 7, 1, 10, 0, 0)
    assert to_server_datetime(dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC), tz) == dt.datetime(
        2026, 7, 1, 10, 0
    )


def test_enrolment_and_rename_require_their_fields() -> None:
    assert _error(ADD_COURSE_USERS, {"mapping_code": "c-1"}).field == "users_mapping_codes"
    assert (
        _error(ADD_COURSE_USERS, {"mapping_code": "c-1", "users_mapping_codes": []}).field
        == "users_mapping_codes"
    )
    assert ADD_COURSE_USERS.prepare({"mapping_code": "c-1", "users_mapping_codes": "a, b,a"}) == {
        "mapping_code": "c-1",
        "users_mapping_codes": ["a", "b"],
    }
    assert _error(RENAME_COURSE, {"old_mapping_code": "c-1"}).field == "new_mapping_code"


def test_templated_lists_arrive_as_text() -> None:
    assert USERS.update.prepare({"mapping_code": "u", "roles": "[4, 6]"})["roles"] == [4, 6]


def test_mapping_codes_may_hold_url_special_characters() -> None:
    code = "a/b?c&d e-č"
    assert USERS.delete.prepare({"mapping_code": code}) == {"mapping_code": code}
    assert _error(USERS.delete, {"mapping_code": "bad\ncode"}).field == "mapping_code"


def test_every_resource_keys_on_mapping_code_and_requires_it_everywhere() -> None:
    for resource in RESOURCES.values():
        for endpoint in (resource.create, resource.update, resource.delete):
            assert "mapping_code" in endpoint.required, (resource.name, endpoint.method)
        assert "password" not in resource.comparable


def test_enums_accept_loose_input() -> None:
    assert Role.coerce("HR Manager") is Role.HR_MANAGER
    assert Language.coerce("3") is Language.SLOVENIAN
    assert Flag.coerce("true") is Flag.YES
    assert ActivityStatus.coerce(2) is ActivityStatus.FINISHED
    with pytest.raises(ValueError, match="3 \\(ORGANIZATION_ADMINISTRATOR\\)"):
        Role.coerce(True)
