"""Bad input fails before any request: the error names the field and what it allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.resources import COURSES, USER_COURSES

BAD_CALLS: list[tuple[str, Callable[[SmartArenaHook], Any], str, str]] = [
    (
        "bad role",
        lambda h: h.create_user("m1", "a@example.com", "A", "B", roles=[6, 7]),
        "roles",
        "4 (HR_MANAGER)",
    ),
    ("bad email", lambda h: h.create_user("m1", "not-an-email", "A", "B"), "email", "an e-mail address"),
    ("missing first name", lambda h: h.create_user("m1", "a@example.com", None, "B"), "firstname", "text"),  # type: ignore[arg-type]
    (
        "bad language",
        lambda h: h.update_user("m1", language_code="klingon"),
        "language_code",
        "3 (SLOVENIAN)",
    ),
    (
        "bad date",
        lambda h: h.create_user("m1", "a@example.com", "A", "B", date_of_birth="17.5.1990"),
        "date_of_birth",
        "yyyy-mm-dd",
    ),
    ("empty code", lambda h: h.delete_user("  "), "mapping_code", "mapping code"),
    ("bad delete mode", lambda h: h.delete_user("m1", delete_mode=3), "delete_mode", "1 (PARTIAL)"),
    ("bad course type", lambda h: h.create_course("c1", "T", "2025-01-01", type=5), "type", "2 (BLENDED)"),
    ("bad sort", lambda h: h.get_courses(sort="newest"), "sort", "date_desc"),
    ("bad filter type", lambda h: h.iter_user_courses(type=2), "type", "254 (MARKET)"),
    ("bad updated_after", lambda h: h.iter_user_courses(updated_after="yesterday"), "updated_at", "datetime"),
    ("bad content type", lambda h: h.get_content(content_type=2), "content_type", "1 (PUBLIC)"),
    (
        "empty user list",
        lambda h: h.add_course_users("c1", []),
        "users_mapping_codes",
        "list of mapping codes",
    ),
    ("bad rename", lambda h: h.rename_course("c1", ""), "new_mapping_code", "mapping code"),
    (
        "negative attempts",
        lambda h: h.update_course("c1", number_of_attempts=-1),
        "number_of_attempts",
        ">= 0",
    ),
    ("unknown parameter", lambda h: h.call(COURSES.list, colour="red"), "colour", "mapping_code"),
    ("concurrency", lambda h: h.iter_pages(USER_COURSES, max_concurrency=0), "max_concurrency", ">= 1"),
    ("resource", lambda h: h.get_record("teachers", "x"), "resource", "user, branch"),
    ("bad get_user code", lambda h: h.get_user(""), "mapping_code", "mapping code"),
]


@pytest.mark.parametrize(
    ("call", "field", "allowed"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_input_fails_before_any_request(
    fresh_sandbox: Any, make_hook: Any, call: Callable[[SmartArenaHook], Any], field: str, allowed: str
) -> None:
    hook = make_hook(fresh_sandbox.connection_json())

    def requests_seen() -> dict[str, Any]:
        return {k: v for k, v in fresh_sandbox.stats().items() if k != "cpu_seconds"}

    before = requests_seen()
    with pytest.raises(SmartArenaInputError) as info:
        call(hook)
    assert info.value.field == field
    assert allowed in str(info.value)
    assert field in str(info.value)
    assert requests_seen() == before  # not even a token request


def test_secret_values_are_not_echoed(make_hook: Any, fresh_sandbox: Any) -> None:
    hook = make_hook(fresh_sandbox.connection_json())
    with pytest.raises(SmartArenaInputError) as info:
        hook.update_user("m1", password="x" * 300 + "\n")
    assert "xxxx" not in str(info.value)


def test_generators_validate_when_called_not_when_iterated(make_hook: Any, fresh_sandbox: Any) -> None:
    hook = make_hook(fresh_sandbox.connection_json())
    with pytest.raises(SmartArenaInputError):
        hook.iter_courses(archived="sometimes")  # no next() needed
