"""The sync planner without HTTP: desired rows + current records -> actions, order and safety checks."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_smartarena.sync.plan import (
    DeleteThreshold,
    ManagedFilter,
    PlannedAction,
    SourceRow,
    SyncOptions,
    SyncPlan,
    build_plan,
)

ROOT = {"mapping_code": "root", "name": "Org", "parent_mapping_code": None}


def user(code: str, **values: Any) -> dict[str, Any]:
    return {"mapping_code": code, "email": f"{code}@x.si", "firstname": "F", "lastname": "L", **values}


def rows(*records: dict[str, Any]) -> list[SourceRow]:
    return [SourceRow(number, dict(record)) for number, record in enumerate(records, start=1)]


def plan_for(
    desired: list[dict[str, Any]],
    current_users: list[dict[str, Any]] = (),  # type: ignore[assignment]
    branches: list[dict[str, Any]] | None = None,
    org: dict[str, list[dict[str, Any]]] | None = None,
    **options: Any,
) -> SyncPlan:
    current = {
        "user": list(current_users),
        "branch": [ROOT, *(branches or [])],
        "location": [],
        "workplace": [],
    }
    org_rows = {name: rows(*records) for name, records in (org or {}).items()}
    return build_plan(rows(*desired), current, SyncOptions(**options), org_rows)


def by_code(plan: SyncPlan, resource: str = "user") -> dict[str | None, PlannedAction]:
    return {a.mapping_code: a for a in plan.actions if a.resource == resource}


def test_update_sends_only_changed_fields_and_ignores_unset_ones() -> None:
    current = [user("a", roles=[6, 4], date_of_birth="1990-01-02", language_code=3)]
    desired = [user("a", lastname="New", roles="4,6", date_of_birth="1990-01-02", language_code=None)]

    action = by_code(plan_for(desired, current))["a"]

    assert (action.action, action.changed_fields) == ("update", ("lastname",))
    assert action.body == {"mapping_code": "a", "lastname": "New"}


def test_password_and_register_mail_only_on_create_and_kept_apart() -> None:
    current = [user("a")]
    plan = plan_for(
        [user("a", password="pw-1", register_mail=1), user("b", password="pw-2", register_mail=0)],
        current,
        register_mail=True,
    )

    existing, new = by_code(plan)["a"], by_code(plan)["b"]
    assert existing.action == "unchanged"
    assert new.action == "create"
    assert new.body["register_mail"] == 0  # the row's column overrides the argument
    assert "password" not in new.body
    assert new.secrets == {"password": "pw-2"}
    assert "pw-2" not in repr(new)
    assert "pw-2" not in repr(new.to_dict())


def test_password_not_sent_when_disabled() -> None:
    action = by_code(plan_for([user("b", password="pw")], set_password_on_create=False))["b"]
    assert action.secrets == {}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"email": "a@x.si"}, "mapping_code: is required"),
        ({"mapping_code": " a"}, "mapping_code: must not start or end with white space"),
        (user("c", email="nope"), "email: not an e-mail address"),
        ({"mapping_code": "d", "email": "d@x.si"}, "firstname: is required"),
        (user("e", language_code=2), "language_code: "),
        (user("f", date_of_birth="02.01.1990"), "date_of_birth: not a date"),
    ],
)
def test_invalid_rows_name_the_field_and_reason(record: dict[str, Any], message: str) -> None:
    (action,) = plan_for([record]).actions
    assert action.action == "invalid"
    assert action.message is not None
    assert action.message.startswith(message)
    assert action.row == 1


def test_an_existing_user_needs_only_its_key() -> None:
    action = by_code(plan_for([{"mapping_code": "a", "lastname": "X"}], [user("a")]))["a"]
    assert action.body == {"mapping_code": "a", "lastname": "X"}


def test_duplicate_keys_are_all_invalid() -> None:
    plan = plan_for([user("a"), user("b"), user("a", lastname="Other")])
    assert [(a.mapping_code, a.action) for a in plan.actions] == [
        ("a", "invalid"),
        ("b", "create"),
        ("a", "invalid"),
    ]


def test_protected_users_are_reported_not_changed() -> None:
    action = by_code(plan_for([user("a", lastname="X")], [user("a", synch_protected=1)]))["a"]
    assert (action.action, action.body) == ("protected", {})


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("upsert", {"a": "update", "b": "create"}),
        ("create_only", {"a": "skip", "b": "create"}),
        ("update_only", {"a": "update", "b": "skip"}),
    ],
)
def test_modes(mode: str, expected: dict[str, str]) -> None:
    plan = plan_for([user("a", lastname="X"), user("b")], [user("a")], mode=mode)
    assert {c: a.action for c, a in by_code(plan).items()} == expected


def test_missing_refs_are_invalid_unless_created() -> None:
    desired = [user("a", branch_mapping_code="new-br", location_mapping_code="new-loc")]

    refused = by_code(plan_for(desired))["a"]
    created = plan_for(desired, create_missing_refs=True)

    assert refused.action == "invalid"
    assert refused.message is not None
    assert "branch 'new-br' does not exist" in refused.message
    branch, location = by_code(created, "branch")["new-br"], by_code(created, "location")["new-loc"]
    assert branch.body == {"mapping_code": "new-br", "parent_mapping_code": "root", "name": "new-br"}
    assert location.body == {"mapping_code": "new-loc", "name": "new-loc"}
    assert by_code(created)["a"].depends_on == (("branch", "new-br"), ("location", "new-loc"))


def test_missing_branch_needs_a_known_root() -> None:
    two_roots = [{"mapping_code": "root2", "name": "Other", "parent_mapping_code": None}]
    desired = [user("a", branch_mapping_code="new-br")]

    ambiguous = plan_for(desired, branches=two_roots, create_missing_refs=True)
    unknown = plan_for(desired, create_missing_refs=True, root_branch_mapping_code="nope")
    chosen = plan_for(desired, branches=two_roots, create_missing_refs=True, root_branch_mapping_code="root2")

    assert by_code(ambiguous)["a"].action == "invalid"
    assert "set root_branch_mapping_code" in (by_code(ambiguous, "branch")["new-br"].message or "")
    assert by_code(unknown)["a"].action == "invalid"
    assert by_code(chosen, "branch")["new-br"].body["parent_mapping_code"] == "root2"


def test_missing_branch_under_a_given_root_waits_for_it() -> None:
    org = {"branch": [{"mapping_code": "hr-root", "parent_mapping_code": "root", "name": "HR"}]}

    plan = plan_for(
        [user("a", branch_mapping_code="hr-new")],
        org=org,
        create_missing_refs=True,
        root_branch_mapping_code="hr-root",
    )

    branches = by_code(plan, "branch")
    assert branches["hr-new"].body["parent_mapping_code"] == "hr-root"
    assert branches["hr-new"].depends_on == (("branch", "hr-root"),)
    assert [[a.mapping_code for a in phase] for phase in plan.phases()] == [["hr-root"], ["hr-new"], ["a"]]


def test_phases_run_deletes_first_then_parents_before_children_and_users() -> None:
    org = {
        "branch": [
            {"mapping_code": "c", "parent_mapping_code": "b", "name": "C"},
            {"mapping_code": "b", "parent_mapping_code": "root", "name": "B"},
        ]
    }
    plan = plan_for(
        [user("a", branch_mapping_code="c"), user("z")],
        [user("old")],
        org=org,
        mode="mirror",
        managed_filter=ManagedFilter(prefix=""),
    )

    phases = [[(a.resource, a.mapping_code, a.action) for a in phase] for phase in plan.phases()]

    assert phases == [
        [("user", "old", "delete")],
        [("branch", "b", "create"), ("user", "z", "create")],
        [("branch", "c", "create")],
        [("user", "a", "create")],
    ]


def test_branch_cycles_are_invalid_including_with_existing_branches() -> None:
    existing = [{"mapping_code": "x", "name": "X", "parent_mapping_code": "root"}]
    org = {
        "branch": [
            {"mapping_code": "y", "parent_mapping_code": "x", "name": "Y"},
            {"mapping_code": "x", "parent_mapping_code": "y"},
        ]
    }

    plan = plan_for([user("a", branch_mapping_code="y")], branches=existing, org=org)

    branches = by_code(plan, "branch")
    assert branches["y"].message == "parent_mapping_code: the branch tree would loop: y -> x -> y"
    assert branches["x"].message == "parent_mapping_code: the branch tree would loop: x -> y -> x"
    assert by_code(plan)["a"].message == "branch_mapping_code: branch 'y' is invalid: " + (
        branches["y"].message or ""
    )


def test_mirror_deletes_only_managed_users_missing_from_the_source() -> None:
    current = [user("hr-1"), user("hr-2"), user("hr-3", synch_protected=1), user("hr-4"), user("other")]
    desired = [user("hr-1"), {"mapping_code": "hr-2", "email": "broken"}]  # an invalid row still keeps hr-2

    plan = plan_for(desired, current, mode="mirror", managed_filter=ManagedFilter.parse("hr-"), delete_mode=1)

    assert {c: a.action for c, a in by_code(plan).items()} == {
        "hr-1": "unchanged",
        "hr-2": "invalid",
        "hr-3": "protected",
        "hr-4": "delete",
    }
    assert by_code(plan)["hr-4"].body == {"mapping_code": "hr-4", "delete_mode": 1}
    assert plan.managed_count == 4


def test_mirror_partial_skips_users_already_deactivated_but_full_removes_them() -> None:
    current = [user("hr-1", active=0, deleted_at="2025-01-01 00:00:00")]
    managed = ManagedFilter.parse({"regex": "hr-.*"})

    partial = plan_for([], current, mode="mirror", managed_filter=managed, delete_mode=1)
    full = plan_for([], current, mode="mirror", managed_filter=managed, delete_mode=2)

    assert partial.actions == []
    assert [a.action for a in full.actions] == ["delete"]


@pytest.mark.parametrize(
    ("max_deletes", "aborts"),
    [(None, False), (2, False), (1, True), ("50%", False), ("49%", True), ("0", True)],
)
def test_mirror_threshold(max_deletes: Any, aborts: bool) -> None:
    current = [user("hr-1"), user("hr-2"), user("hr-3"), user("hr-4")]
    plan = plan_for(
        [user("hr-1"), user("hr-2")],
        current,
        mode="mirror",
        managed_filter=ManagedFilter.parse("hr-"),
        max_deletes=DeleteThreshold.parse(max_deletes),
    )
    assert (plan.abort_reason is not None) == aborts
    if aborts:
        assert "mirror would delete 2 of 4 managed users (mapping_code starts with 'hr-')" in (
            plan.abort_reason or ""
        )


def test_managed_filter_forms() -> None:
    assert ManagedFilter.parse("hr-") == ManagedFilter(prefix="hr-")
    assert ManagedFilter.parse({"prefix": "hr-"}) == ManagedFilter(prefix="hr-")
    regex = ManagedFilter.parse({"regex": r"hr-\d+"})
    assert regex is not None
    assert regex.matches("hr-12")
    assert not regex.matches("xhr-12")
    assert not regex.matches("hr-1a")
    with pytest.raises(ValueError, match="expected a prefix string"):
        ManagedFilter.parse(lambda code: True)
    with pytest.raises(ValueError, match="expected a prefix string"):
        ManagedFilter.parse({"prefix": "a", "regex": "b"})


def test_mirror_requires_a_managed_filter() -> None:
    with pytest.raises(ValueError, match="needs managed_filter"):
        SyncOptions(mode="mirror")
