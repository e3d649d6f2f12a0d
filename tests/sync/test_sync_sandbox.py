"""SmartArenaUserSyncOperator end to end against the sandbox: the writes it makes and the state it leaves."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_smartarena.exceptions import SmartArenaValidationError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .conftest import PREFIX, person, users_by_code, writes

FIVE = [person(n) for n in range(1, 6)]


def _statuses(summary: dict[str, Any], resource: str = "user") -> dict[str, str]:
    return {r["mapping_code"]: r["status"] for r in summary["records"] if r["resource"] == resource}


def test_first_sync_creates_everything_and_second_makes_no_writes(sync: Any, fresh_sandbox: Any) -> None:
    users = [
        *FIVE,
        person(
            6,
            branch_mapping_code="hr-new-branch",
            location_mapping_code="hr-loc",
            workplace_mapping_code="hr-wp",
        ),
    ]
    first = sync(users=users, create_missing_refs=True)

    assert first["counts"]["user"] == {"created": 6}
    assert first["counts"] == {
        "branch": {"created": 1},
        "location": {"created": 1},
        "workplace": {"created": 1},
        "user": {"created": 6},
    }
    state = users_by_code(fresh_sandbox)
    assert state["hr-6"]["branch_mapping_code"] == "hr-new-branch"
    assert state["hr-1"]["email"] == "person1@hr.example.com"
    assert state["hr-1"]["roles"] == [6]
    branch = {b["mapping_code"]: b for b in fresh_sandbox.state("branches")}["hr-new-branch"]
    assert branch["parent_mapping_code"] == "root"  # the platform's root, found without configuration
    assert writes(fresh_sandbox) == 9

    fresh_sandbox.reset_stats()
    second = sync(users=users, create_missing_refs=True)

    assert writes(fresh_sandbox) == 0
    assert second["write_calls"] == 0
    assert second["counts"] == {"user": {"unchanged": 6}}
    assert second["records"] == []
    reads = fresh_sandbox.stats()["by_route"]
    assert reads["GET /api/users"] == 1  # one read of all users, not one per user


def test_changed_email_updates_only_that_user_and_field(
    sync: Any, fresh_sandbox: Any, monkeypatch: Any
) -> None:
    sync(users=FIVE)
    before = users_by_code(fresh_sandbox)
    bodies: list[dict[str, Any]] = []
    real_update = SmartArenaHook.update_record

    def spy(self: SmartArenaHook, resource: Any, values: Any) -> Any:
        bodies.append(dict(values))
        return real_update(self, resource, values)

    monkeypatch.setattr(SmartArenaHook, "update_record", spy)
    fresh_sandbox.reset_stats()
    changed = [*FIVE[:2], {**FIVE[2], "email": "NEW.three@hr.example.com"}, *FIVE[3:]]

    summary = sync(users=changed)

    assert bodies == [{"mapping_code": "hr-3", "email": "NEW.three@hr.example.com"}]  # the PUT body
    assert summary["records"] == [
        {
            "resource": "user",
            "mapping_code": "hr-3",
            "action": "update",
            "status": "updated",
            "changed_fields": ["email"],
            "row": 3,
        }
    ]
    routes = fresh_sandbox.stats()["by_route"]
    assert routes.get("PUT /api/users") == 1
    assert writes(fresh_sandbox) == 1
    # One read of all users; the org lists are not needed, as no write references an org unit.
    assert sum(n for route, n in routes.items() if route.startswith("GET /api/")) == 1
    after = users_by_code(fresh_sandbox)
    assert after["hr-3"]["email"] == "NEW.three@hr.example.com"
    for code in ("hr-1", "hr-2", "hr-4", "hr-5"):
        assert after[code] == before[code]  # updated_at included: untouched


def test_equal_values_in_another_form_are_unchanged(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=[person(1, roles=[4, 6])])
    fresh_sandbox.reset_stats()

    summary = sync(users=[person(1, roles="6;4", email="PERSON1@hr.example.com", language_code="slovenian")])

    assert summary["counts"] == {"user": {"unchanged": 1}}
    assert writes(fresh_sandbox) == 0


def test_mirror_deletes_only_managed_users(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)
    seeded = {c for c in users_by_code(fresh_sandbox) if not c.startswith(PREFIX)}
    fresh_sandbox.reset_stats()

    summary = sync(users=FIVE[:4], mode="mirror", managed_filter=PREFIX, max_deletes=1)

    assert _statuses(summary) == {"hr-5": "deleted"}
    state = users_by_code(fresh_sandbox)
    assert "hr-5" not in state
    assert {c for c in state if not c.startswith(PREFIX)} == seeded  # nobody outside the filter
    assert writes(fresh_sandbox) == 1


def test_mirror_partial_delete_deactivates_once(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)
    mirror = {
        "mode": "mirror",
        "managed_filter": {"regex": r"hr-\d+"},
        "delete_mode": "partial",
        "max_deletes": 2,
    }

    sync(users=FIVE[:3], **mirror)
    state = users_by_code(fresh_sandbox)
    assert (state["hr-4"]["active"], state["hr-5"]["active"]) == (0, 0)
    fresh_sandbox.reset_stats()

    again = sync(users=FIVE[:3], **mirror)

    assert writes(fresh_sandbox) == 0  # already deactivated: nothing more to do
    assert again["counts"] == {"user": {"unchanged": 3}}


def test_mirror_over_threshold_aborts_before_writing(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)
    before = fresh_sandbox.state("users")
    fresh_sandbox.reset_stats()
    new_and_changed = [person(1, email="changed@hr.example.com"), person(99)]

    with pytest.raises(AirflowException, match=r"would delete 4 of 5 managed users.*max_deletes=10%"):
        sync(users=new_and_changed, mode="mirror", managed_filter=PREFIX)

    assert writes(fresh_sandbox) == 0  # not even the create and update of the plan
    assert fresh_sandbox.state("users") == before


def test_protected_users_are_never_touched(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=[*FIVE, person(7, synch_protected=1)])
    before = users_by_code(fresh_sandbox)["hr-7"]
    fresh_sandbox.reset_stats()

    changed = sync(users=[*FIVE, person(7, email="other@hr.example.com", synch_protected=0)])
    mirrored = sync(users=FIVE, mode="mirror", managed_filter=PREFIX, max_deletes=0)

    assert _statuses(changed) == {"hr-7": "protected"}
    assert _statuses(mirrored) == {"hr-7": "protected"}
    assert writes(fresh_sandbox) == 0
    assert users_by_code(fresh_sandbox)["hr-7"] == before


def test_dry_run_writes_nothing_and_returns_the_plan(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)
    fresh_sandbox.reset_stats()
    users = [person(1, lastname="Changed"), *FIVE[1:], person(6), person(7, email="bad")]

    plan = sync(users=users, dry_run="true")  # as a template such as "{{ params.dry_run }}" renders

    assert writes(fresh_sandbox) == 0
    assert plan["dry_run"] is True
    assert plan["counts"] == {"user": {"planned": 2, "unchanged": 4, "invalid": 1}}
    by_code = {r["mapping_code"]: r for r in plan["records"]}
    assert by_code["hr-1"]["action"] == "update"
    assert by_code["hr-1"]["changed_fields"] == ["lastname"]
    assert by_code["hr-6"]["action"] == "create"
    assert "not an e-mail address" in by_code["hr-7"]["message"]


def test_bad_row_and_server_rejection_leave_the_rest_applied(sync: Any, fresh_sandbox: Any) -> None:
    taken = users_by_code(fresh_sandbox)["u-00001"]["email"]  # the sandbox refuses a duplicate e-mail
    users = [
        person(1),
        person(2, email="not-an-email"),
        person(3, email=taken),
        person(4, roles=[6, 99]),
        person(5),
    ]

    with pytest.raises(AirflowException) as info:
        sync(users=users)

    message = str(info.value)
    assert "1 failed and 2 invalid of 5 record(s)" in message
    assert "every other record was applied" in message
    assert "invalid  user hr-2 (row 2): email: not an e-mail address" in message
    assert "failed   user hr-3 (row 3): POST /api/users -> HTTP 422" in message
    assert "email has already been taken" in message
    assert "roles" in message
    state = users_by_code(fresh_sandbox)
    assert {"hr-1", "hr-5"} <= set(state)
    assert not {"hr-2", "hr-3", "hr-4"} & set(state)
    pushed = sync.ti.xcom["return_value"]
    assert _statuses(pushed) == {
        "hr-1": "created",
        "hr-2": "invalid",
        "hr-3": "failed",
        "hr-4": "invalid",
        "hr-5": "created",
    }


def test_missing_refs_without_create_are_reported(sync: Any, fresh_sandbox: Any) -> None:
    users = [person(1), person(2, branch_mapping_code="nowhere")]

    summary = sync(users=users, fail_on_error=False)

    assert _statuses(summary)["hr-2"] == "invalid"
    record = next(r for r in summary["records"] if r["mapping_code"] == "hr-2")
    assert "branch_mapping_code: branch 'nowhere' does not exist" in record["message"]
    assert "hr-1" in users_by_code(fresh_sandbox)
    assert "nowhere" not in {b["mapping_code"] for b in fresh_sandbox.state("branches")}


def test_given_branches_are_created_parent_first(sync: Any, fresh_sandbox: Any) -> None:
    branches = [  # children listed before their parents
        {"mapping_code": "hr-team", "parent_mapping_code": "hr-dept", "name": "Team"},
        {"mapping_code": "hr-dept", "parent_mapping_code": "hr-div", "name": "Department"},
        {"mapping_code": "hr-div", "parent_mapping_code": "root", "name": "Division"},
    ]
    users = [person(1, branch_mapping_code="hr-team")]

    summary = sync(users=users, branches=branches)

    assert summary["counts"] == {"branch": {"created": 3}, "user": {"created": 1}}
    tree = {b["mapping_code"]: b["parent_mapping_code"] for b in fresh_sandbox.state("branches")}
    assert (tree["hr-team"], tree["hr-dept"], tree["hr-div"]) == ("hr-dept", "hr-div", "root")

    fresh_sandbox.reset_stats()
    renamed = [*branches[:2], {**branches[2], "name": "Division (renamed)"}]
    again = sync(users=users, branches=renamed)
    assert again["counts"] == {"branch": {"unchanged": 2, "updated": 1}, "user": {"unchanged": 1}}
    assert writes(fresh_sandbox) == 1


def test_branch_cycle_is_invalid_and_nothing_of_it_is_sent(sync: Any, fresh_sandbox: Any) -> None:
    branches = [
        {"mapping_code": "hr-a", "parent_mapping_code": "hr-b", "name": "A"},
        {"mapping_code": "hr-b", "parent_mapping_code": "hr-a", "name": "B"},
    ]

    summary = sync(
        users=[person(1, branch_mapping_code="hr-a"), person(2)], branches=branches, fail_on_error=False
    )

    statuses = {(r["resource"], r["mapping_code"]): r for r in summary["records"]}
    assert "the branch tree would loop: hr-a -> hr-b -> hr-a" in statuses[("branch", "hr-a")]["message"]
    assert statuses[("user", "hr-1")]["status"] == "invalid"
    assert statuses[("user", "hr-2")]["status"] == "created"
    assert writes(fresh_sandbox) == 1


def test_invalid_ref_makes_its_users_invalid(sync: Any, fresh_sandbox: Any) -> None:
    users = [person(1, branch_mapping_code="hr-x"), person(2)]
    branches = [{"mapping_code": "hr-x", "parent_mapping_code": "root", "name": "X" * 300}]

    summary = sync(users=users, branches=branches, fail_on_error=False)

    records = {(r["resource"], r["mapping_code"]): r for r in summary["records"]}
    assert records[("branch", "hr-x")]["message"].startswith("name: longer than 255 characters")
    assert records[("user", "hr-1")]["status"] == "invalid"
    assert "branch 'hr-x' is invalid" in records[("user", "hr-1")]["message"]
    assert records[("user", "hr-2")]["status"] == "created"
    assert writes(fresh_sandbox) == 1


def test_failed_ref_fails_its_users_without_trying_them(
    sync: Any, fresh_sandbox: Any, monkeypatch: Any
) -> None:
    real_create = SmartArenaHook.create_record

    def refuse_branches(self: SmartArenaHook, resource: Any, values: Any) -> Any:
        if resource.name == "branch":
            raise SmartArenaValidationError("refused", errors={"name": ["Not today."]}, status=422)
        return real_create(self, resource, values)

    monkeypatch.setattr(SmartArenaHook, "create_record", refuse_branches)
    users = [person(1, branch_mapping_code="hr-x"), person(2)]

    summary = sync(users=users, create_missing_refs=True, fail_on_error=False)

    records = {(r["resource"], r["mapping_code"]): r for r in summary["records"]}
    assert records[("branch", "hr-x")]["status"] == "failed"
    assert "Not today." in records[("branch", "hr-x")]["message"]
    assert records[("user", "hr-1")] | {"row": 1} == {
        "resource": "user",
        "mapping_code": "hr-1",
        "action": "create",
        "status": "failed",
        "message": "not attempted: branch 'hr-x' failed",
        "row": 1,
    }
    assert records[("user", "hr-2")]["status"] == "created"
    assert fresh_sandbox.stats()["by_route"].get("POST /api/users") == 1


def test_modes_create_only_and_update_only(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE[:2])
    fresh_sandbox.reset_stats()

    created = sync(users=[person(1, lastname="X"), person(3)], mode="create_only")
    updated = sync(users=[person(2, lastname="Y"), person(4)], mode="update_only")

    assert _statuses(created) == {"hr-1": "skipped", "hr-3": "created"}
    assert _statuses(updated) == {"hr-2": "updated", "hr-4": "skipped"}
    state = users_by_code(fresh_sandbox)
    assert state["hr-1"]["lastname"] == "Last1"
    assert "hr-4" not in state
    assert writes(fresh_sandbox) == 2


def test_passwords_are_sent_on_create_only_and_never_reported(sync: Any, fresh_sandbox: Any) -> None:
    secret = "S3cret-pa55word"
    summary = sync(users=[person(1, password=secret), person(2)], register_mail=True)
    stored = users_by_code(fresh_sandbox)
    assert (stored["hr-1"]["has_password"], stored["hr-2"]["has_password"]) == (1, 0)
    assert stored["hr-1"]["register_mail"] == 1
    fresh_sandbox.reset_stats()

    again = sync(users=[person(1, password="another-one"), person(2)])

    assert writes(fresh_sandbox) == 0  # a password is never compared, so never resent
    assert secret not in repr(summary)
    assert "another-one" not in repr(again)


def test_rerun_after_a_partial_apply_completes_without_duplicates(sync: Any, fresh_sandbox: Any) -> None:
    users = [person(n) for n in range(1, 9)]
    sync(users=users[:3])  # what a crashed first try got done
    fresh_sandbox.reset_stats()

    summary = sync(users=users)

    assert summary["counts"] == {"user": {"created": 5, "unchanged": 3}}
    assert fresh_sandbox.stats()["by_route"].get("POST /api/users") == 5
    assert fresh_sandbox.stats()["by_status"].get("422") is None


def test_writes_survive_rate_limits_and_server_errors(sync: Any, fresh_sandbox: Any) -> None:
    fresh_sandbox.set_faults(rate_limit_rate=0.2, error_rate=0.1, retry_after="0", seed=3)
    users = [person(n) for n in range(1, 21)]

    first = sync(users=users, max_concurrency=4)
    fresh_sandbox.set_faults(rate_limit_rate=0.0, error_rate=0.0)
    fresh_sandbox.reset_stats()
    second = sync(users=users)

    assert first["counts"] == {"user": {"created": 20}}
    assert second["counts"] == {"user": {"unchanged": 20}}
    assert writes(fresh_sandbox) == 0
