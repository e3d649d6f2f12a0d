"""Enumerations of the values the Smart ARENA API allows.

Every enum accepts its member, the plain integer, the member name (any case) or a numeric string,
through :meth:`ApiEnum.coerce`, so DAG authors can write ``Role.HR_MANAGER``, ``4`` or ``"hr_manager"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum
from typing import Any, Self


class ApiEnum(IntEnum):
    """An ``IntEnum`` that converts loose input and explains what is allowed when it cannot."""

    @classmethod
    def coerce(cls, value: Any) -> Self:
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            raise ValueError(f"expected one of {cls.allowed()}, got {value!r}")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                pass
        elif isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                return cls.coerce(int(text))
            member = cls.__members__.get(text.upper().replace("-", "_").replace(" ", "_"))
            if member is not None:
                return member
        raise ValueError(f"expected one of {cls.allowed()}, got {value!r}")

    @classmethod
    def allowed(cls) -> str:
        return ", ".join(f"{m.value} ({m.name})" for m in cls)


class Role(ApiEnum):
    """User roles (``roles``)."""

    ORGANIZATION_ADMINISTRATOR = 3
    HR_MANAGER = 4
    USER = 6
    CONTENT_DEVELOPER = 9
    UNIT_MANAGER = 11
    CONTENT_EDITOR = 12
    HR_MANAGER_LIMITED = 15


class Language(ApiEnum):
    """User interface language (``language_code``)."""

    ENGLISH = 1
    SLOVENIAN = 3
    RUSSIAN = 8
    CROATIAN = 39


class Flag(ApiEnum):
    """A 0/1 switch (``register_mail``, ``synch_protected``, ``archived``, ``modules_data`` ...)."""

    NO = 0
    YES = 1

    @classmethod
    def coerce(cls, value: Any) -> Flag:
        if isinstance(value, bool):
            return cls(int(value))
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return cls(int(value.strip().lower() == "true"))
        return super().coerce(value)


class DeleteMode(ApiEnum):
    """``delete_mode`` of user and course deletion (the API's default is FULL)."""

    PARTIAL = 1
    FULL = 2

    @staticmethod
    def soft_deleted(record: Mapping[str, Any]) -> bool:
        """Whether a listed record is already partially deleted: deactivated (users) or archived (courses).

        A partial delete leaves the record listed with ``deleted_at`` set, ``active`` 0 or
        ``archived`` 1 (as numbers, booleans or their text, depending on the platform's version).
        """
        return (
            bool(record.get("deleted_at"))
            or str(record.get("active", "")).strip().lower() in ("0", "false")
            or str(record.get("archived", "")).strip().lower() in ("1", "true")
        )

    @classmethod
    def nothing_to_do(cls, mode: Any, record: Mapping[str, Any]) -> bool:
        """Whether deleting ``record`` with ``mode`` would change nothing: a partial delete of a record
        that is already soft-deleted. A full delete (or the API's default, full) always has work.
        """
        return mode is not None and cls.coerce(mode) is cls.PARTIAL and cls.soft_deleted(record)


class CourseType(ApiEnum):
    """The ``type`` of a course when it is created or updated."""

    E_COURSE = 1
    BLENDED = 2
    LIVE = 3


class CourseFilterType(ApiEnum):
    """The ``type`` filter of course and activity lists."""

    E_COURSES = 1
    IN_PERSON = 5
    MARKET = 254
    CURRICULUM = 253


class ContentType(ApiEnum):
    """The ``content_type`` filter of the content list (None means all content)."""

    INTERNAL = 0
    PUBLIC = 1


class ActivityStatus(ApiEnum):
    """The ``status`` of a user's activity on a course, in order of progress."""

    NOT_STARTED = 0
    STARTED = 1
    FINISHED = 2
    CERTIFIED = 3
    CONDITIONS_MET = 4


class Sort(StrEnum):
    """The ``sort`` order of the course list."""

    DATE_DESC = "date_desc"
    DATE_ASC = "date_asc"
