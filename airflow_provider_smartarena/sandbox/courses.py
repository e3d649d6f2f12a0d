"""/api/content, /api/courses (+ addusers, removeusers) and /api/coursemappingcode."""

from __future__ import annotations

from typing import Any

from airflow_provider_smartarena.sandbox import render, rules
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.errors import invalid, invalid_field, not_found
from airflow_provider_smartarena.sandbox.store import Activity, Store

EDITABLE = tuple(rule.name for rule in rules.COURSES_PUT if rule.name != "mapping_code")
DEFAULTS: dict[str, Any] = {
    "end_date": None,
    "type": 1,
    "assessment_on_end": 0,
    "number_of_attempts": None,
    "assessment_show_questions_at_end": 0,
    "mandatory_time": None,
    "prerequired_content": None,
    "instructor_mapping_code": None,
    "content_id": None,
    "confirmation_of_completion": 0,
    "access_days_from_enrollment": None,
}


def list_content(call: Call) -> tuple[int, Any]:
    query = call.valid(rules.CONTENT_GET)
    wanted, zone = query.get("content_type"), call.zone
    items = [c for c in call.store.content.values() if wanted is None or c["public"] == wanted]
    return call.listing(query, False, items, lambda c: render.content(c, zone))


def list_courses(call: Call) -> tuple[int, Any]:
    query = call.valid(rules.COURSES_GET)
    store, zone = call.store, call.zone
    code = query.get("mapping_code")
    if code is not None:
        found = store.course_by_code(code)
        courses = [found] if found else []
    else:
        courses = list(store.courses.values())
    if query.get("archived", 1) == 0:
        courses = [c for c in courses if not c["archived"]]
    if "type" in query:
        courses = [c for c in courses if query["type"] in render.filter_types(c)]
    courses.sort(key=lambda c: (c["start_date"], c["id"]), reverse=query.get("sort") == "date_desc")
    return call.listing(query, True, courses, lambda c: render.course(store, c, zone))


def create_course(call: Call) -> tuple[int, Any]:
    values, errors = call.check(rules.COURSES_POST)
    store, code = call.store, values.get("mapping_code")
    errors = {**_reference_errors(store, values, values.get("start_date")), **errors}
    if code is not None and store.course_by_code(code) is not None:
        errors["mapping_code"] = ["The mapping code has already been taken."]
    errors.update(user_errors(store, values.get("users_mapping_codes") or []))
    if errors:
        raise invalid(errors)
    now = call.now()
    record: dict[str, Any] = {"id": store.next_id("courses"), "mapping_code": code, "title": values["title"]}
    record["start_date"] = values["start_date"]
    record.update({name: values.get(name, default) for name, default in DEFAULTS.items()})
    record.update(
        course_category_id=None,
        qualification_mapping_code=None,
        market=0,
        curriculum=0,
        parent_course_id=None,
        archived=0,
        live_sessions=[],
        created_at=now,
        updated_at=now,
    )
    store.put_course(record)
    for user_code in values.get("users_mapping_codes") or []:
        enrol(store, user_code, record["id"], now)
    return 201, {"message": "Course created.", "data": render.course(store, record, call.zone)}


def update_course(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.COURSES_PUT)
    store = call.store
    current = existing_course(store, values["mapping_code"])
    errors = _reference_errors(store, values, values.get("start_date", current["start_date"]), current)
    if errors:
        raise invalid(errors)
    record = {**current, **{name: values[name] for name in EDITABLE if name in values}}
    if record != current:
        record["updated_at"] = call.now()
        store.put_course(record)
    return 200, {"message": "Course updated.", "data": render.course(store, record, call.zone)}


def delete_course(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.COURSES_DELETE)
    store = call.store
    current = existing_course(store, values["mapping_code"])
    if values.get("delete_mode", 2) == 1:
        if not current["archived"]:
            store.put_course({**current, "archived": 1, "updated_at": call.now()})
        return 200, {"message": "Course archived."}
    store.remove_course(current["id"])
    return 200, {"message": "Course deleted."}


def add_users(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.COURSE_USERS)
    store = call.store
    course = _course_for_enrolment(store, values)
    added, already = [], []
    now = call.now()
    for code in dict.fromkeys(values["users_mapping_codes"]):
        if store.activity_for(code, course["id"]) is None:
            enrol(store, code, course["id"], now)
            added.append(code)
        else:
            already.append(code)
    return 200, {"message": "Users added to the course.", "added": added, "already_enrolled": already}


def remove_users(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.COURSE_USERS)
    store = call.store
    course = _course_for_enrolment(store, values)
    removed, missing = [], []
    for code in dict.fromkeys(values["users_mapping_codes"]):
        activity = store.activity_for(code, course["id"])
        if activity is None:
            missing.append(code)
        else:
            store.remove_activity(activity.id)
            removed.append(code)
    return 200, {"message": "Users removed from the course.", "removed": removed, "not_enrolled": missing}


def rename_course(call: Call) -> tuple[int, Any]:
    values = call.valid(rules.COURSE_RENAME)
    store = call.store
    old, new = values["old_mapping_code"], values["new_mapping_code"]
    course = store.course_by_code(old)
    if course is None:
        raise not_found("Course")
    if new != old:
        if store.course_by_code(new) is not None:
            raise invalid_field("new_mapping_code", "The new mapping code has already been taken.")
        course = {**course, "mapping_code": new, "updated_at": call.now()}
        store.put_course(course)
    return 200, {"message": "Course mapping code updated.", "data": render.course(store, course, call.zone)}


def existing_course(store: Store, code: str) -> dict[str, Any]:
    course = store.course_by_code(code)
    if course is None:
        raise not_found("Course")
    return course


def _course_for_enrolment(store: Store, values: dict[str, Any]) -> dict[str, Any]:
    course = existing_course(store, values["mapping_code"])
    errors = user_errors(store, values["users_mapping_codes"])
    if not values["users_mapping_codes"]:
        errors["users_mapping_codes"] = ["The users mapping codes field is required."]
    if errors:
        raise invalid(errors)
    return course


def user_errors(store: Store, codes: list[str]) -> dict[str, list[str]]:
    return {
        f"users_mapping_codes.{index}": [f"The selected users_mapping_codes.{index} is invalid."]
        for index, code in enumerate(codes)
        if code not in store.users
    }


def _reference_errors(
    store: Store, values: dict[str, Any], start_date: str | None, current: dict[str, Any] | None = None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    end_date = values.get("end_date", current["end_date"] if current else None)
    if end_date is not None and start_date is not None and end_date < start_date:
        errors["end_date"] = ["The end date field must be a date after or equal to start date."]
    instructor = values.get("instructor_mapping_code")
    if instructor is not None and instructor not in store.users:
        errors["instructor_mapping_code"] = ["The selected instructor mapping code is invalid."]
    for field in ("content_id", "prerequired_content"):
        if values.get(field) is not None and values[field] not in store.content:
            errors[field] = [f"The selected {field.replace('_', ' ')} is invalid."]
    return errors


def enrol(store: Store, user_code: str, course_id: int, now: int) -> Activity:
    """A new not-started activity (status 0)."""
    activity = Activity(store.next_id("activities"), user_code, course_id, created_at=now, updated_at=now)
    return store.add_activity(activity)
