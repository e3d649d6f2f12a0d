"""The record operators against the sandbox: create, update, upsert, delete, batches, enrolment, rename."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_smartarena.enums import CourseType, DeleteMode, Role
from airflow_provider_smartarena.exceptions import (
    SmartArenaError,
    SmartArenaInputError,
    SmartArenaNotFoundError,
)
from airflow_provider_smartarena.operators.courses import (
    SmartArenaAddCourseUsersOperator,
    SmartArenaCreateCourseOperator,
    SmartArenaDeleteCourseOperator,
    SmartArenaRemoveCourseUsersOperator,
    SmartArenaRenameCourseOperator,
    SmartArenaUpdateCourseOperator,
    SmartArenaUpsertCourseOperator,
)
from airflow_provider_smartarena.operators.org import (
    SmartArenaCreateBranchOperator,
    SmartArenaDeleteBranchOperator,
    SmartArenaUpsertBranchOperator,
)
from airflow_provider_smartarena.operators.users import (
    SmartArenaCreateUserOperator,
    SmartArenaDeleteUserOperator,
    SmartArenaUpdateUserOperator,
    SmartArenaUpsertUserOperator,
)
from airflow_provider_smartarena.resources import RESOURCES
from airflow_provider_smartarena.sandbox.testing import SandboxServer

from ._support import writes
from .test_declarations import _class

ANA: dict[str, Any] = {
    "mapping_code": "t-ana",
    "email": "ana.t@example.com",
    "firstname": "Ana",
    "lastname": "Novak",
    "branch_mapping_code": "br-001",
    "roles": [Role.USER, Role.HR_MANAGER],
    "date_of_birth": "1990-05-17",
}


#: Keyword names of the record fields named like BaseOperator arguments (those names are the task's).
_KEYWORDS = {"email": "user_email", "start_date": "course_start_date", "end_date": "course_end_date"}


def kw(record: dict[str, Any]) -> dict[str, Any]:
    """A record (API field names) as operator keyword arguments."""
    return {_KEYWORDS.get(name, name): value for name, value in record.items()}


def _truth(sandbox: SandboxServer, resource: str, code: str) -> dict[str, Any] | None:
    return next((r for r in sandbox.state(resource) if r["mapping_code"] == code), None)


def test_user_lifecycle(sandbox_conn: SandboxServer, context: Any) -> None:
    created = SmartArenaCreateUserOperator(task_id="c", password="Initial-Pw-1", **kw(ANA)).execute(context)
    assert created["action"] == "created"
    assert created["mapping_code"] == "t-ana"
    assert "password" not in created["record"]
    assert "password" not in created["changed_fields"]
    truth = _truth(sandbox_conn, "users", "t-ana")
    assert truth is not None
    assert sorted(truth["roles"]) == [4, 6]
    assert truth["has_password"] == 1

    # Create again: fail (default), skip, or update only what differs.
    # An Airflow retry after a successful attempt finds its own record: not a conflict.
    assert SmartArenaCreateUserOperator(task_id="c", **kw(ANA)).execute(context)["action"] == "unchanged"
    with pytest.raises(SmartArenaError, match="already exists with another firstname, lastname"):
        SmartArenaCreateUserOperator(
            task_id="c", **kw({**ANA, "firstname": "Anja", "lastname": "N"})
        ).execute(context)
    skipped = SmartArenaCreateUserOperator(task_id="c", if_exists="skip", **kw(ANA)).execute(context)
    assert skipped["action"] == "skipped"
    before = writes(sandbox_conn)
    same = SmartArenaCreateUserOperator(
        task_id="c",
        if_exists="update",
        **kw({**ANA, "roles": ["hr_manager", 6], "email": "ANA.T@example.com"}),
    ).execute(context)
    assert same["action"] == "unchanged"  # role order and e-mail case carry no meaning
    assert writes(sandbox_conn) == before

    updated = SmartArenaUpdateUserOperator(
        task_id="u", mapping_code="t-ana", lastname="Kovač", firstname="Ana", roles=[Role.UNIT_MANAGER]
    ).execute(context)
    assert updated["action"] == "updated"
    assert updated["changed_fields"] == ["lastname", "roles"]
    assert updated["record"]["lastname"] == "Kovač"
    assert _truth(sandbox_conn, "users", "t-ana")["roles"] == [11]  # type: ignore[index]

    upserted = SmartArenaUpsertUserOperator(task_id="u", password="Other-Pw-2", **kw(ANA)).execute(context)
    assert upserted["action"] == "updated"
    assert set(upserted["changed_fields"]) == {
        "lastname",
        "roles",
    }  # no password on upsert of an existing user
    again = SmartArenaUpsertUserOperator(task_id="u", **kw(ANA)).execute(context)
    assert again["action"] == "unchanged"

    deleted = SmartArenaDeleteUserOperator(task_id="d", mapping_code="t-ana").execute(context)
    assert deleted["action"] == "deleted"
    assert _truth(sandbox_conn, "users", "t-ana") is None
    with pytest.raises(SmartArenaNotFoundError, match="missing_ok"):
        SmartArenaDeleteUserOperator(task_id="d", mapping_code="t-ana").execute(context)
    assert (
        SmartArenaDeleteUserOperator(task_id="d", mapping_code="t-ana", missing_ok=True).execute(context)[
            "action"
        ]
        == "skipped"
    )
    with pytest.raises(SmartArenaNotFoundError):
        SmartArenaUpdateUserOperator(task_id="u", mapping_code="t-ana", lastname="X").execute(context)
    missing = SmartArenaUpdateUserOperator(task_id="u", mapping_code="t-ana", lastname="X", missing_ok=True)
    assert missing.execute(context)["action"] == "skipped"

    upsert_new = SmartArenaUpsertUserOperator(task_id="u", **kw(ANA)).execute(context)
    assert upsert_new["action"] == "created"


def test_update_user_always_sends_a_given_password(sandbox_conn: SandboxServer, context: Any) -> None:
    SmartArenaCreateUserOperator(task_id="c", **kw(ANA)).execute(context)
    result = SmartArenaUpdateUserOperator(task_id="u", mapping_code="t-ana", password="New-Pw-3").execute(
        context
    )
    assert result["action"] == "updated"
    assert result["changed_fields"] == ["password"]
    assert "password" not in result["record"]
    assert _truth(sandbox_conn, "users", "t-ana")["has_password"] == 1  # type: ignore[index]


def test_partial_delete_is_idempotent(sandbox_conn: SandboxServer, context: Any) -> None:
    SmartArenaCreateUserOperator(task_id="c", **kw(ANA)).execute(context)
    op = SmartArenaDeleteUserOperator(task_id="d", mapping_code="t-ana", delete_mode=DeleteMode.PARTIAL)
    assert op.execute(context)["action"] == "deleted"
    assert _truth(sandbox_conn, "users", "t-ana")["active"] == 0  # type: ignore[index]
    before = writes(sandbox_conn)
    assert op.execute(context)["action"] == "unchanged"
    assert writes(sandbox_conn) == before


ORG_VALUES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "branch": ({"parent_mapping_code": "root", "name": "T"}, {"name": "T2"}),
    "location": ({"name": "T"}, {"name": "T2"}),
    "workplace": ({"name": "T"}, {"name": "T2"}),
    "qualification": ({"parent_mapping_code": "root", "name": "T"}, {"name": "T2"}),
}


@pytest.mark.parametrize("resource", sorted(ORG_VALUES))
def test_org_lifecycle(resource: str, sandbox_conn: SandboxServer, context: Any) -> None:
    plural = RESOURCES[resource].path.rsplit("/", 1)[1]
    initial, change = ORG_VALUES[resource]
    key: dict[str, Any] = {"mapping_code": f"t-{resource}"}
    assert _class(resource, "create")(task_id="c", **key, **initial).execute(context)["action"] == "created"
    assert _class(resource, "upsert")(task_id="u", **key, **initial).execute(context)["action"] == "unchanged"
    updated = _class(resource, "update")(task_id="u", **key, **change).execute(context)
    assert (updated["action"], updated["changed_fields"]) == ("updated", ["name"])
    assert _truth(sandbox_conn, plural, key["mapping_code"])["name"] == "T2"  # type: ignore[index]
    assert _class(resource, "delete")(task_id="d", **key).execute(context)["action"] == "deleted"
    assert _truth(sandbox_conn, plural, key["mapping_code"]) is None


def test_course_lifecycle(sandbox_conn: SandboxServer, context: Any) -> None:
    course: dict[str, Any] = {
        "mapping_code": "t-course",
        "title": "Onboarding",
        "start_date": "2025-03-01",
        "type": CourseType.BLENDED,
    }
    created = SmartArenaCreateCourseOperator(
        task_id="c", users_mapping_codes=["u-00001"], **kw(course)
    ).execute(context)
    assert created["action"] == "created"
    assert created["record"]["users"] == ["u-00001"]
    assert SmartArenaUpsertCourseOperator(task_id="u", **kw(course)).execute(context)["action"] == "unchanged"
    updated = SmartArenaUpdateCourseOperator(
        task_id="u", mapping_code="t-course", course_end_date="2025-12-31", course_start_date="2025-03-01"
    ).execute(context)
    assert updated["changed_fields"] == ["end_date"]
    soft = SmartArenaDeleteCourseOperator(
        task_id="d", mapping_code="t-course", delete_mode=DeleteMode.PARTIAL
    )
    assert soft.execute(context)["action"] == "deleted"
    assert soft.execute(context)["action"] == "unchanged"  # already archived
    assert _truth(sandbox_conn, "courses", "t-course")["archived"] == 1  # type: ignore[index]
    assert (
        SmartArenaDeleteCourseOperator(task_id="d", mapping_code="t-course").execute(context)["action"]
        == "deleted"
    )
    assert _truth(sandbox_conn, "courses", "t-course") is None


def test_templated_fields_render_and_validate(sandbox_conn: SandboxServer, context: Any) -> None:
    op = SmartArenaCreateUserOperator(
        task_id="c",
        mapping_code="{{ params.code }}",
        user_email="{{ params.code }}@example.com",
        firstname="Ana",
        lastname="Novak",
        roles="{{ params.roles }}",
        date_of_birth="{{ params.born }}",
    )
    op.render_template_fields({"params": {"code": "t-tpl", "roles": [4, 6], "born": "1991-02-03"}})
    assert op.roles == "[4, 6]"  # rendered as text ...
    result = op.execute(context)  # ... and still understood
    assert result["record"]["roles"] == [4, 6]
    assert result["record"]["date_of_birth"] == "1991-02-03"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({**ANA, "roles": [Role.USER, 99]}, "roles", "3 \\(ORGANIZATION_ADMINISTRATOR\\)"),
        ({**ANA, "date_of_birth": "17.5.1990"}, "date_of_birth", "yyyy-mm-dd"),
        ({k: v for k, v in ANA.items() if k != "lastname"}, "lastname", "is required"),
        ({**ANA, "email": "not-an-address"}, "email", "e-mail"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    values: dict[str, Any], field: str, message: str, sandbox_conn: SandboxServer, context: Any
) -> None:
    sandbox_conn.reset_stats()
    with pytest.raises(SmartArenaInputError, match=message) as caught:
        SmartArenaCreateUserOperator(task_id="c", **kw(values)).execute(context)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    assert sandbox_conn.stats()["total"] == 0  # not even a token request


def test_batch_with_bad_records(sandbox_conn: SandboxServer, context: Any) -> None:
    records = [
        {**ANA, "mapping_code": "t-1", "email": "t1@example.com"},
        {
            **ANA,
            "mapping_code": "t-2",
            "email": "t2@example.com",
            "roles": [42],
        },  # invalid before any request
        {
            **ANA,
            "mapping_code": "t-3",
            "email": "t3@example.com",
            "branch_mapping_code": "no-such-branch",
        },  # 422
        {**ANA, "mapping_code": "t-4", "email": "t4@example.com"},
        {**ANA, "mapping_code": "t-1", "email": "t1b@example.com"},  # the same key twice
    ]
    op = SmartArenaUpsertUserOperator(task_id="b", records=records, max_concurrency=3)
    with pytest.raises(AirflowException, match="3 of 5 User record\\(s\\) failed") as caught:
        op.execute(context)
    assert "roles" in str(caught.value)
    assert "branch_mapping_code" in str(caught.value)
    assert "repeats record #0" in str(caught.value)
    summary = context["ti"].pushed["results"]
    assert summary["counts"] == {"created": 2, "failed": 3}
    assert [r["action"] for r in summary["results"]] == ["created", "failed", "failed", "created", "failed"]
    codes = {u["mapping_code"] for u in sandbox_conn.state("users")}
    assert {"t-1", "t-4"} <= codes
    assert not {"t-2", "t-3"} & codes

    # Re-run (an Airflow retry) with the bad records fixed: nothing duplicated, the rest unchanged.
    fixed = [
        records[0],
        {**records[1], "roles": [6, 4]},
        {**records[2], "branch_mapping_code": "br-001"},
        records[3],
    ]
    rerun = SmartArenaUpsertUserOperator(task_id="b", records=fixed).execute(context)
    assert rerun["counts"] == {"created": 2, "unchanged": 2}


def test_batch_without_failing_the_task(sandbox_conn: SandboxServer, context: Any) -> None:
    result = SmartArenaDeleteUserOperator(
        task_id="d", records=[{"mapping_code": "u-00001"}, {"mapping_code": "nobody"}], fail_on_error=False
    ).execute(context)
    assert result["counts"] == {"deleted": 1, "failed": 1}
    assert result["results"][1]["error"].startswith("SmartArenaNotFoundError")


def test_batch_orders_a_tree(sandbox_conn: SandboxServer, context: Any) -> None:
    tree = [
        {"mapping_code": "t-leaf", "parent_mapping_code": "t-mid", "name": "Leaf"},
        {"mapping_code": "t-mid", "parent_mapping_code": "t-top", "name": "Mid"},
        {"mapping_code": "t-top", "parent_mapping_code": "root", "name": "Top"},
        {"mapping_code": "t-orphan", "parent_mapping_code": "t-missing", "name": "Orphan"},
        {"mapping_code": "t-under-orphan", "parent_mapping_code": "t-orphan", "name": "Under orphan"},
    ]
    op = SmartArenaCreateBranchOperator(task_id="t", records=tree, fail_on_error=False)
    result = op.execute(context)
    assert [r["action"] for r in result["results"]] == ["created", "created", "created", "failed", "failed"]
    assert "not attempted" in result["results"][4]["error"]
    # Children are deleted before their parents, whatever the order given.
    keys = [{"mapping_code": c} for c in ("t-top", "t-mid", "t-leaf")]
    deleted = SmartArenaDeleteBranchOperator(task_id="d", records=keys).execute(context)
    assert deleted["counts"] == {"deleted": 3}
    cycle = [
        {"mapping_code": "t-a", "parent_mapping_code": "t-b", "name": "A"},
        {"mapping_code": "t-b", "parent_mapping_code": "t-a", "name": "B"},
    ]
    result = SmartArenaUpsertBranchOperator(task_id="c", records=cycle, fail_on_error=False).execute(context)
    assert {r["action"] for r in result["results"]} == {"failed"}
    assert "cycle" in result["results"][0]["error"]


def test_records_as_text_and_shared_fields(sandbox_conn: SandboxServer, context: Any) -> None:
    # A template without native rendering gives the records as Python-literal text.
    text = "[{'mapping_code': 't-x', 'name': 'X'}, {'mapping_code': 't-y', 'name': 'Y'}]"
    result = SmartArenaUpsertBranchOperator(task_id="t", records=text, parent_mapping_code="root").execute(
        context
    )
    assert result["counts"] == {"created": 2}
    assert _truth(sandbox_conn, "branches", "t-y")["parent_mapping_code"] == "root"  # type: ignore[index]
    with pytest.raises(SmartArenaInputError, match="records"):
        SmartArenaUpsertBranchOperator(task_id="t", records="not records").execute(context)


def test_enrolment(sandbox_conn: SandboxServer, context: Any) -> None:
    SmartArenaCreateCourseOperator(
        task_id="c",
        mapping_code="t-enrol",
        title="T",
        course_start_date="2025-01-01",
        users_mapping_codes=["u-00001"],
    ).execute(context)
    added = SmartArenaAddCourseUsersOperator(
        task_id="a", mapping_code="t-enrol", users_mapping_codes=["u-00001", "u-00002"]
    ).execute(context)
    assert (added["action"], added["added"], added["already_enrolled"]) == (
        "updated",
        ["u-00002"],
        ["u-00001"],
    )
    before = writes(sandbox_conn)
    again = SmartArenaAddCourseUsersOperator(
        task_id="a", mapping_code="t-enrol", users_mapping_codes=["u-00002"]
    ).execute(context)
    assert again["action"] == "unchanged"
    assert writes(sandbox_conn) == before
    removed = SmartArenaRemoveCourseUsersOperator(
        task_id="r", mapping_code="t-enrol", users_mapping_codes=["u-00001", "u-00003"]
    ).execute(context)
    assert (removed["removed"], removed["not_enrolled"]) == (["u-00001"], ["u-00003"])
    assert _truth(sandbox_conn, "courses", "t-enrol")["users"] == ["u-00002"]  # type: ignore[index]
    with pytest.raises(SmartArenaNotFoundError, match="t-nope"):
        SmartArenaAddCourseUsersOperator(
            task_id="a", mapping_code="t-nope", users_mapping_codes=["x"]
        ).execute(context)


def test_rename(sandbox_conn: SandboxServer, context: Any) -> None:
    SmartArenaCreateCourseOperator(
        task_id="c", mapping_code="t-old", title="T", course_start_date="2025-01-01"
    ).execute(context)
    op = SmartArenaRenameCourseOperator(task_id="r", old_mapping_code="t-old", new_mapping_code="t-new")
    renamed = op.execute(context)
    assert (renamed["action"], renamed["mapping_code"], renamed["old_mapping_code"]) == (
        "updated",
        "t-new",
        "t-old",
    )
    assert renamed["record"]["mapping_code"] == "t-new"
    assert op.execute(context)["action"] == "skipped"  # a retry after success
    codes = {c["mapping_code"] for c in sandbox_conn.state("courses")}
    assert "t-new" in codes
    assert "t-old" not in codes
    with pytest.raises(SmartArenaNotFoundError):
        SmartArenaRenameCourseOperator(
            task_id="r", old_mapping_code="t-gone", new_mapping_code="t-none"
        ).execute(context)
    SmartArenaCreateCourseOperator(
        task_id="c", mapping_code="t-old", title="T", course_start_date="2025-01-01"
    ).execute(context)
    with pytest.raises(SmartArenaError, match="already exists"):
        op.execute(context)
