"""/api/branches, /api/qualifications (trees) and /api/locations, /api/workplaces (flat lists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_smartarena.sandbox import render, rules
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.errors import invalid, invalid_field, not_found
from airflow_provider_smartarena.sandbox.seed import ROOT_BRANCH, ROOT_QUALIFICATION
from airflow_provider_smartarena.sandbox.store import Store

Handler = Callable[[Call], tuple[int, Any]]
LABELS = {
    "branches": "Organizational unit",
    "qualifications": "Qualification group",
    "locations": "Location",
    "workplaces": "Workplace",
}
ROOTS = {"branches": ROOT_BRANCH, "qualifications": ROOT_QUALIFICATION}
TREES = ("branches", "qualifications")
USER_FIELD = {
    "branches": "branch_mapping_code",
    "locations": "location_mapping_code",
    "workplaces": "workplace_mapping_code",
}


def _render(kind: str) -> Callable[..., dict[str, Any]]:
    return render.tree_node if kind in TREES else render.named


def list_handler(kind: str) -> Handler:
    rule_set = rules.TREE_GET if kind in TREES else rules.NAMED_GET
    to_json = _render(kind)

    def handler(call: Call) -> tuple[int, Any]:
        query = call.valid(rule_set)
        table, zone = call.store.org(kind), call.zone
        code = query.get("mapping_code")
        records = ([table[code]] if code in table else []) if code is not None else list(table.values())
        return call.listing(query, False, records, lambda r: to_json(r, zone))

    handler.__name__ = f"list_{kind}"
    return handler


def create_handler(kind: str) -> Handler:
    rule_set = rules.TREE_POST if kind in TREES else rules.NAMED_POST

    def handler(call: Call) -> tuple[int, Any]:
        values, errors = call.check(rule_set)
        table, code = call.store.org(kind), values.get("mapping_code")
        if code in table:
            errors["mapping_code"] = ["The mapping code has already been taken."]
        if kind in TREES and "parent_mapping_code" in values and values["parent_mapping_code"] not in table:
            errors["parent_mapping_code"] = ["The selected parent mapping code is invalid."]
        if errors:
            raise invalid(errors)
        assert code is not None  # validated above
        now = call.now()
        record: dict[str, Any] = {"mapping_code": code, "name": values["name"]}
        if kind in TREES:
            record["parent_mapping_code"] = values["parent_mapping_code"]
        record.update(created_at=now, updated_at=now)
        call.store.put(kind, code, record)
        return 201, {"message": f"{LABELS[kind]} created.", "data": _render(kind)(record, call.zone)}

    handler.__name__ = f"create_{kind}"
    return handler


def update_handler(kind: str) -> Handler:
    rule_set = rules.TREE_PUT if kind in TREES else rules.NAMED_PUT

    def handler(call: Call) -> tuple[int, Any]:
        values = call.valid(rule_set)
        table, code = call.store.org(kind), values["mapping_code"]
        current = table.get(code)
        if current is None:
            raise not_found(LABELS[kind])
        parent = values.get("parent_mapping_code")
        if parent is not None:
            _check_parent(table, code, parent)
        record = {**current, **{k: v for k, v in values.items() if k != "mapping_code"}}
        if record != current:
            record["updated_at"] = call.now()
            call.store.put(kind, code, record)
        return 200, {"message": f"{LABELS[kind]} updated.", "data": _render(kind)(record, call.zone)}

    handler.__name__ = f"update_{kind}"
    return handler


def _check_parent(table: dict[str, dict[str, Any]], code: str, parent: str) -> None:
    if parent not in table:
        raise invalid_field("parent_mapping_code", "The selected parent mapping code is invalid.")
    node: str | None = parent
    while node is not None:
        if node == code:
            raise invalid_field(
                "parent_mapping_code",
                "The parent mapping code must not be the unit itself or one of its descendants.",
            )
        node = table[node]["parent_mapping_code"]


def delete_handler(kind: str) -> Handler:
    def handler(call: Call) -> tuple[int, Any]:
        values = call.valid(rules.KEY_DELETE)
        store, code = call.store, values["mapping_code"]
        table = store.org(kind)
        if code not in table:
            raise not_found(LABELS[kind])
        _check_deletable(store, kind, code)
        _detach(store, kind, code, call.now())
        store.remove(kind, code)
        return 200, {"message": f"{LABELS[kind]} deleted."}

    handler.__name__ = f"delete_{kind}"
    return handler


def _check_deletable(store: Store, kind: str, code: str) -> None:
    if code == ROOTS.get(kind):
        raise invalid_field("mapping_code", "The root of the tree cannot be deleted.")
    if kind in TREES and any(r["parent_mapping_code"] == code for r in store.org(kind).values()):
        raise invalid_field("mapping_code", f"The {LABELS[kind].lower()} still has child units.")
    if kind == "branches" and any(u["branch_mapping_code"] == code for u in store.users.values()):
        raise invalid_field("mapping_code", "The organizational unit still has users.")


def _detach(store: Store, kind: str, code: str, now: int) -> None:
    """Clear references to a deleted location/workplace (users) or qualification group (courses)."""
    field = USER_FIELD.get(kind)
    if kind in ("locations", "workplaces") and field:
        for user in list(store.users.values()):
            if user[field] == code:
                store.put_user({**user, field: None, "updated_at": now})
    if kind == "qualifications":
        for course in list(store.courses.values()):
            if course["qualification_mapping_code"] == code:
                store.put_course({**course, "qualification_mapping_code": None, "updated_at": now})
