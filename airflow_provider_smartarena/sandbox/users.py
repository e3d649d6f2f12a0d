"""/api/users: list, create, update, delete (partial = deactivate, full = remove)."""

from __future__ import annotations

from typing import Any

from airflow_provider_smartarena.sandbox import render, rules
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.errors import ApiError, attribute, invalid, not_found
from airflow_provider_smartarena.sandbox.store import Store

PROTECTED = "The user is protected from overwriting via the API (synch_protected)."
REFERENCES = (
    ("branch_mapping_code", "branches"),
    ("location_mapping_code", "locations"),
    ("workplace_mapping_code", "workplaces"),
)
#: What a PUT may change (the password is not stored, only that there is one).
UPDATABLE = tuple(rule.name for rule in rules.USERS_PUT if rule.name not in ("mapping_code", "password"))


def _rendered(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    return render.user(record, call.zone, call.state.faults.current.iso_datetimes)


def list_users(call: Call) -> tuple[int, Any]:
    query = call.valid(rules.USERS_GET)
    store, zone = call.store, call.zone
    iso = call.state.faults.current.iso_datetimes
    code, email = query.get("mapping_code"), query.get("email")
    if code is not None:
        users = [store.users[code]] if code in store.users else []
    else:
        users = list(store.users.values())
    if email is not None:
        users = [u for u in users if u["email"].lower() == email.lower()]
    return call.listing(query, False, users, lambda u: render.user(u, zone, iso))


def create_user(call: Call) -> tuple[int, Any]:
    values, errors = call.check(rules.USERS_POST)
    store, code = call.store, values.get("mapping_code")
    errors = {**_conflicts(store, values, code), **errors}
    if code in store.users:
        errors.setdefault("mapping_code", []).append("The mapping code has already been taken.")
    if errors:
        raise invalid(errors)
    now = call.now()
    record = {
        "mapping_code": code,
        "username": values.get("username"),
        "email": values["email"],
        "firstname": values["firstname"],
        "lastname": values["lastname"],
        "date_of_birth": values.get("date_of_birth"),
        "branch_mapping_code": values.get("branch_mapping_code"),
        "location_mapping_code": values.get("location_mapping_code"),
        "workplace_mapping_code": values.get("workplace_mapping_code"),
        "language_code": values.get("language_code", 1),
        "roles": values.get("roles") or [6],
        "synch_protected": values.get("synch_protected", 0),
        "register_mail": values.get("register_mail", 0),
        "has_password": 1 if values.get("password") else 0,
        "active": 1,
        "deleted_at": None,
        "created_at": now,
        "updated_at": now,
    }
    store.put_user(record)
    return 201, {"message": "User created.", "data": _rendered(call, record)}


def update_user(call: Call) -> tuple[int, Any]:
    values, errors = call.check(rules.USERS_PUT)
    store, code = call.store, values.get("mapping_code")
    errors = {**_conflicts(store, values, code), **errors}
    if errors:
        raise invalid(errors)
    current = _existing(store, values["mapping_code"])
    record = dict(current)
    for name in UPDATABLE:
        if name in values:
            record[name] = values[name] if name != "roles" else (values[name] or [6])
    if values.get("password"):
        record["has_password"] = 1
    if record != current or values.get("password"):
        record["updated_at"] = call.now()
        store.put_user(record)
    return 200, {"message": "User updated.", "data": _rendered(call, record)}


def delete_user(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.USERS_DELETE)
    store, code = call.store, values["mapping_code"]
    current = _existing(store, code)
    now = call.now()
    if values.get("delete_mode", 2) == 1:
        if current["active"]:
            store.put_user({**current, "active": 0, "deleted_at": now, "updated_at": now})
        return 200, {"message": "User deactivated."}
    store.remove_user(code)
    for course in store.courses.values():
        if course["instructor_mapping_code"] == code:
            store.put_course({**course, "instructor_mapping_code": None, "updated_at": now})
    return 200, {"message": "User deleted."}


def _existing(store: Store, code: str) -> dict[str, Any]:
    current = store.users.get(code)
    if current is None:
        raise not_found("User")
    if current["synch_protected"]:
        raise ApiError(403, PROTECTED)
    return current


def _conflicts(store: Store, values: dict[str, Any], code: str | None) -> dict[str, list[str]]:
    """Unique email/username and existing branch/location/workplace; field -> messages."""
    errors: dict[str, list[str]] = {}
    for field, index in (("email", store.user_emails), ("username", store.usernames)):
        value = values.get(field)
        if value and index.get(value.lower(), code) != code:
            errors[field] = [f"The {field} has already been taken."]
    for field, kind in REFERENCES:
        value = values.get(field)
        if value is not None and value not in store.org(kind):
            errors[field] = [f"The selected {attribute(field)} is invalid."]
    return errors
