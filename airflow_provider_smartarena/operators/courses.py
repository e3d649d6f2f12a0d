"""Operators for Smart ARENA courses: create, update, upsert, delete, enrol, unenrol and rename.

The create / update / upsert / delete operators are declarations over
:class:`~airflow_provider_smartarena.operators.base.SmartArenaRecordOperator` (fields from
:data:`airflow_provider_smartarena.resources.COURSES`). The course's ``start_date`` and
``end_date`` share their names with BaseOperator arguments: given as a date or ``"yyyy-mm-dd"`` they
are the course's (kept in the attributes ``course_start_date`` / ``course_end_date``); a datetime
stays the task's own scheduling date. ``partial()`` always takes ``start_date``/``end_date`` as the
task's: with dynamic task mapping, give the course's dates inside ``records`` (or ``expand_kwargs``).

Enrolment and renaming read the course first, so that they are idempotent under Airflow retries and
report what actually changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_smartarena.exceptions import SmartArenaError, SmartArenaNotFoundError
from airflow_provider_smartarena.operators.base import (
    SKIPPED,
    UNCHANGED,
    UPDATED,
    SmartArenaRecordOperator,
    record_outcome,
)
from airflow_provider_smartarena.resources import (
    ADD_COURSE_USERS,
    COURSES,
    REMOVE_COURSE_USERS,
    RENAME_COURSE,
)

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook


class SmartArenaCreateCourseOperator(SmartArenaRecordOperator):
    """Create a course, optionally enrolling users (``users_mapping_codes``)."""

    resource = COURSES
    action = "create"


class SmartArenaUpdateCourseOperator(SmartArenaRecordOperator):
    """Update a course: only the given fields, and only those that differ."""

    resource = COURSES
    action = "update"


class SmartArenaUpsertCourseOperator(SmartArenaRecordOperator):
    """
    Create a course, or update the fields that differ if it exists.

    ``users_mapping_codes`` is used only when the course is created; enrol users into an existing
    course with :class:`SmartArenaAddCourseUsersOperator`.
    """

    resource = COURSES
    action = "upsert"


class SmartArenaDeleteCourseOperator(SmartArenaRecordOperator):
    """Delete a course (``delete_mode``: 1 soft delete, 2 permanent, the API's default)."""

    resource = COURSES
    action = "delete"


def enrolled_codes(course: Mapping[str, Any]) -> list[str] | None:
    """The mapping codes of the users enrolled in ``course``, or None if the record does not say.

    The API documents ``users`` without its shape: items may be codes or user objects.
    """
    users = course.get("users")
    if not isinstance(users, list):
        return None
    codes = []
    for user in users:
        if isinstance(user, Mapping):
            user = user.get("mapping_code", user.get("user_mapping_code"))
        if user is not None:
            codes.append(str(user))
    return codes


class _CourseUsersOperator(SmartArenaRecordOperator):
    """Shared by enrolment and unenrolment: read the course, send only the users that change."""

    label = "Course"
    adding = True

    def apply_record(self, hook: SmartArenaHook, values: dict[str, Any]) -> dict[str, Any]:
        code = str(values["mapping_code"])
        wanted: list[str] = values["users_mapping_codes"]
        course = hook.get_record(COURSES, code)
        if course is None:
            raise SmartArenaNotFoundError(f"Course {code!r} does not exist")
        enrolled = enrolled_codes(course)
        if enrolled is None:
            # The platform does not show enrolments: send them all (the calls are set operations).
            change, keep = list(wanted), []
        elif self.adding:
            change = [u for u in wanted if u not in enrolled]
            keep = [u for u in wanted if u in enrolled]
        else:
            change = [u for u in wanted if u in enrolled]
            keep = [u for u in wanted if u not in enrolled]
        if change:
            send = hook.add_course_users if self.adding else hook.remove_course_users
            send(code, change)
        if enrolled is not None:
            after = [*enrolled, *change] if self.adding else [u for u in enrolled if u not in change]
            course = {**course, "users": after}
        done, left = ("added", "already_enrolled") if self.adding else ("removed", "not_enrolled")
        return record_outcome(
            code,
            UPDATED if change else UNCHANGED,
            course,
            ["users"] if change else [],
            **{done: change, left: keep},
        )


class SmartArenaAddCourseUsersOperator(_CourseUsersOperator):
    """
    Enrol users into a course; users already enrolled are left alone and reported.

    XCom: ``{"mapping_code", "action": "updated"|"unchanged", "record", "changed_fields", "added":
    [...], "already_enrolled": [...]}``.
    """

    endpoint = ADD_COURSE_USERS
    verb = "Enrolling users into"


class SmartArenaRemoveCourseUsersOperator(_CourseUsersOperator):
    """
    Unenrol users from a course; users not enrolled are left alone and reported.

    XCom: ``{"mapping_code", "action": "updated"|"unchanged", "record", "changed_fields", "removed":
    [...], "not_enrolled": [...]}``.
    """

    endpoint = REMOVE_COURSE_USERS
    adding = False
    verb = "Unenrolling users from"


class SmartArenaRenameCourseOperator(SmartArenaRecordOperator):
    """
    Change a course's mapping code (``POST /api/coursemappingcode``).

    Idempotent under retries: when ``old_mapping_code`` is gone and ``new_mapping_code`` exists, the
    course counts as renamed already (``"skipped"``). Both existing is an error, as is neither.
    XCom: ``{"mapping_code": <new>, "old_mapping_code", "action": "updated"|"skipped", "record",
    "changed_fields": ["mapping_code"]}``.
    """

    endpoint = RENAME_COURSE
    key_field = "new_mapping_code"
    label = "Course"

    def describe(self, values: Mapping[str, Any]) -> str:
        return f"Renaming course {values.get('old_mapping_code')!r} to {values.get('new_mapping_code')!r}"

    def apply_record(self, hook: SmartArenaHook, values: dict[str, Any]) -> dict[str, Any]:
        old, new = str(values["old_mapping_code"]), str(values["new_mapping_code"])
        if old == new:
            raise SmartArenaError(f"Course {old!r}: old_mapping_code and new_mapping_code are the same")
        current, taken = hook.get_record(COURSES, old), hook.get_record(COURSES, new)
        if current is None:
            if taken is not None:
                self.log.info("Course %r is already named %r; skipped", old, new)
                return record_outcome(new, SKIPPED, taken, old_mapping_code=old)
            raise SmartArenaNotFoundError(f"Course {old!r} does not exist (nor does {new!r})")
        if taken is not None:
            raise SmartArenaError(f"Cannot rename course {old!r} to {new!r}: a course {new!r} already exists")
        response = hook.rename_course(old, new)
        record = self._merged(response, {**current, "mapping_code": new})
        return record_outcome(new, UPDATED, record, ["mapping_code"], old_mapping_code=old)


__all__ = [
    "SmartArenaAddCourseUsersOperator",
    "SmartArenaCreateCourseOperator",
    "SmartArenaDeleteCourseOperator",
    "SmartArenaRemoveCourseUsersOperator",
    "SmartArenaRenameCourseOperator",
    "SmartArenaUpdateCourseOperator",
    "SmartArenaUpsertCourseOperator",
]
