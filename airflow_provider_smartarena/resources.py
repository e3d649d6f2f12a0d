"""The Smart ARENA API as data: every documented call, its parameters, and how values are checked.

This module is the single description of the API that the hook, the operators, the sync and the
transfers share. Each documented call is an :class:`Endpoint`; :meth:`Endpoint.prepare` turns loose
Python values (enums, dates, pendulum objects, numeric strings) into the exact parameters the API
expects, or raises :class:`~airflow_provider_smartarena.exceptions.SmartArenaInputError` naming the
field and what it allows, before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.enums import (
    ActivityStatus,
    ApiEnum,
    ContentType,
    CourseFilterType,
    CourseType,
    DeleteMode,
    Flag,
    Language,
    Role,
    Sort,
)
from airflow_provider_smartarena.exceptions import SmartArenaInputError

Kind = Literal[
    "code", "str", "email", "date", "datetime", "date_or_datetime", "int", "enum", "enum_list", "code_list"
]

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_CODE_LENGTH = 255
MAX_TEXT_LENGTH = 255

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Field:
    """One parameter of a call.

    :param name: the parameter's name, as the API spells it.
    :param kind: how values are checked and converted.
    :param enum: for ``enum`` and ``enum_list`` kinds, the allowed values.
    :param secret: never rendered, logged, diffed or returned (passwords).
    :param max_length: longest accepted text.
    """

    name: str
    kind: Kind = "str"
    enum: type[ApiEnum] | type[Sort] | None = None
    secret: bool = False
    max_length: int = MAX_TEXT_LENGTH

    def allowed(self) -> str:
        """Describe the accepted values, for error messages."""
        if self.enum is not None:
            if issubclass(self.enum, ApiEnum):
                text = self.enum.allowed()
            else:
                text = ", ".join(m.value for m in self.enum)
            return f"a list of {text}" if self.kind == "enum_list" else text
        return _KIND_HELP[self.kind]

    def convert(self, value: Any, tz: dt.tzinfo) -> Any:
        """Return ``value`` in the API's form, or raise :class:`SmartArenaInputError`."""
        try:
            return _CONVERTERS[self.kind](self, value, tz)
        except SmartArenaInputError:
            raise
        except (ValueError, TypeError) as err:
            raise SmartArenaInputError(self.name, _describe(err, value, self), self.allowed()) from None


def _describe(err: Exception, value: Any, fld: Field) -> str:
    # Secret values must never be echoed back in an error.
    shown = "<hidden>" if fld.secret else repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    reason = str(err) if str(err) and fld.enum is None else "invalid value"
    return f"{reason}: got {shown}" if reason != "invalid value" or not fld.secret else reason


def _to_text(fld: Field, value: Any, _tz: dt.tzinfo) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    if len(value) > fld.max_length:
        raise ValueError(f"longer than {fld.max_length} characters")
    if _CONTROL_RE.search(value):
        raise ValueError("contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800"), e.g. from a badly decoded file: no request could carry it.
        raise ValueError("is not valid Unicode text (it holds a lone surrogate)") from None
    return value


def _to_code(fld: Field, value: Any, tz: dt.tzinfo) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _to_text(fld, value, tz)
    if not text.strip():
        raise ValueError("must not be empty")
    if text != text.strip():
        raise ValueError("must not start or end with white space")
    return text


def _to_email(fld: Field, value: Any, tz: dt.tzinfo) -> str:
    text = _to_text(fld, value, tz)
    if not _EMAIL_RE.match(text):
        raise ValueError("not an e-mail address")
    return text


def _to_int(_fld: Field, value: Any, _tz: dt.tzinfo) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a whole number, not a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise TypeError(f"expected a whole number, not {type(value).__name__}")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _to_enum(fld: Field, value: Any, _tz: dt.tzinfo) -> int | str:
    assert fld.enum is not None
    if issubclass(fld.enum, ApiEnum):
        return int(fld.enum.coerce(value))
    try:
        return fld.enum(str(value).strip().lower()).value
    except ValueError:
        raise ValueError("invalid value") from None


def _as_list(value: Any) -> list[Any]:
    # Templated arguments arrive as text ("[4, 6]" or "4,6") unless the DAG renders native objects.
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, ApiEnum | int):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset):
        raise TypeError(f"expected a list, not {type(value).__name__}")
    items = list(value)
    if not items:
        raise ValueError("must not be an empty list")
    return items


def _to_enum_list(fld: Field, value: Any, tz: dt.tzinfo) -> list[int | str]:
    out: list[int | str] = []
    for item in _as_list(value):
        converted = _to_enum(fld, item, tz)
        if converted not in out:
            out.append(converted)
    return out


def _to_code_list(fld: Field, value: Any, tz: dt.tzinfo) -> list[str]:
    out: list[str] = []
    for item in _as_list(value):
        code = _to_code(fld, item, tz)
        if code not in out:
            out.append(code)
    return out


def _to_date(_fld: Field, value: Any, _tz: dt.tzinfo) -> str:
    if isinstance(value, dt.datetime):
        raise TypeError("expected a date, not a datetime")
    if isinstance(value, dt.date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        return dt.date.fromisoformat(value.strip()).strftime(DATE_FORMAT)
    raise ValueError("not a date in the form yyyy-mm-dd")


def to_server_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime:
    """Parse ``value`` and return a naive datetime on the server's wall clock ``tz``.

    Naive inputs are taken to be in ``tz`` already; aware ones (including pendulum) are converted.
    """
    if isinstance(value, str):
        text = value.strip()
        if _DATE_RE.match(text):
            value = dt.datetime.fromisoformat(text)
        else:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(tz).replace(tzinfo=None)
    return value.replace(microsecond=0)


def parse_datetime(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """An API datetime as a naive datetime on the server's wall clock (whole seconds), or None.

    The API sends ``YYYY-MM-DD HH:MM:SS`` in the server time zone; ISO 8601 with an offset
    (Laravel 7+ sends UTC instants, ``2026-11-05T23:00:00.000000Z``) is an instant, converted to
    that zone, so every stored datetime is on the server's wall clock and compares correctly with
    the ``updated_at`` filter, which the server reads in its own zone.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz).replace(tzinfo=None)
    return parsed.replace(microsecond=0) if parsed.microsecond else parsed


def parse_date(value: Any, tz: dt.tzinfo) -> dt.date | None:
    """An API date as the calendar date in the server's zone ``tz``, or None.

    ``YYYY-MM-DD`` is taken as it is, as is the date of a datetime without an offset (a wall-clock
    value in the server's zone). A value with an offset is an instant: Laravel 7+ sends a ``date``
    cast as local midnight in UTC (``2026-11-05T23:00:00.000000Z`` for 6 November in Ljubljana),
    so its first ten characters would be a day early; it is converted to ``tz`` first.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date() if value.tzinfo is not None else value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if len(text) > 10:
        parsed = parse_datetime(text, tz)
        if parsed is not None:
            return parsed.date()
    return dt.date.fromisoformat(text[:10])


def _to_datetime(_fld: Field, value: Any, tz: dt.tzinfo) -> str:
    try:
        return to_server_datetime(value, tz).strftime(DATETIME_FORMAT)
    except ValueError:
        raise ValueError("not a datetime (YYYY-MM-DD HH:MM:SS or ISO 8601)") from None


def _to_date_or_datetime(fld: Field, value: Any, tz: dt.tzinfo) -> str:
    is_plain_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if is_plain_date or (isinstance(value, str) and _DATE_RE.match(value.strip())):
        return _to_date(fld, value, tz)
    return _to_datetime(fld, value, tz)


_CONVERTERS = {
    "code": _to_code,
    "str": _to_text,
    "email": _to_email,
    "int": _to_int,
    "enum": _to_enum,
    "enum_list": _to_enum_list,
    "code_list": _to_code_list,
    "date": _to_date,
    "datetime": _to_datetime,
    "date_or_datetime": _to_date_or_datetime,
}

_KIND_HELP = {
    "code": f"a non-empty mapping code of at most {MAX_CODE_LENGTH} characters",
    "str": f"text of at most {MAX_TEXT_LENGTH} characters",
    "email": "an e-mail address",
    "int": "a whole number >= 0",
    "enum": "",
    "enum_list": "",
    "code_list": "a non-empty list of mapping codes",
    "date": "a date: datetime.date, pendulum Date or 'yyyy-mm-dd'",
    "datetime": "a datetime (naive = server time zone), a date, or 'YYYY-MM-DD HH:MM:SS' / ISO 8601",
    "date_or_datetime": "a date ('yyyy-mm-dd') or a datetime ('YYYY-MM-DD HH:MM:SS')",
}


@dataclass(frozen=True)
class Endpoint:
    """One documented call: method, path, its parameters and which are required."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    fields: tuple[Field, ...]
    required: frozenset[str] = frozenset()
    paginated: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for fld in self.fields:
            if fld.name == name:
                return fld
        raise KeyError(name)

    def prepare(self, values: Mapping[str, Any], tz: dt.tzinfo | str = "UTC") -> dict[str, Any]:
        """Validate ``values`` and return the parameters to send; ``None`` values are left out."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        known = {f.name: f for f in self.fields}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SmartArenaInputError(
                unknown[0], f"not a parameter of {self.method} {self.path}", ", ".join(known)
            )
        missing = [name for name in self.fields_in_order(self.required) if values.get(name) is None]
        if missing:
            raise SmartArenaInputError(missing[0], "is required", known[missing[0]].allowed())
        return {name: known[name].convert(v, zone) for name, v in values.items() if v is not None}

    def fields_in_order(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return [f.name for f in self.fields if f.name in wanted]

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.secret)


@dataclass(frozen=True)
class Resource:
    """A resource keyed by ``mapping_code`` with list, create, update and delete calls."""

    name: str
    label: str
    list: Endpoint
    create: Endpoint
    update: Endpoint
    delete: Endpoint
    key: str = "mapping_code"
    #: Fields a read returns that are compared when deciding whether a record changed.
    comparable: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return self.list.path


def _code(name: str) -> Field:
    return Field(name, "code", max_length=MAX_CODE_LENGTH)


_MAPPING_CODE = _code("mapping_code")
_NAME = Field("name")
_PARENT = _code("parent_mapping_code")


def _crud(
    name: str,
    label: str,
    path: str,
    writable: tuple[Field, ...],
    create_required: Iterable[str],
    *,
    create_only: tuple[Field, ...] = (),
    list_filters: tuple[Field, ...] = (_MAPPING_CODE,),
    delete_extra: tuple[Field, ...] = (),
    paginated: bool = False,
) -> Resource:
    key = frozenset({"mapping_code"})
    return Resource(
        name=name,
        label=label,
        list=Endpoint("GET", path, list_filters, paginated=paginated),
        create=Endpoint("POST", path, (_MAPPING_CODE, *writable, *create_only), key | set(create_required)),
        update=Endpoint("PUT", path, (_MAPPING_CODE, *writable), key),
        delete=Endpoint("DELETE", path, (_MAPPING_CODE, *delete_extra), key),
        comparable=tuple(f.name for f in writable if not f.secret),
    )


USERS = _crud(
    "user",
    "User",
    "/api/users",
    (
        Field("email", "email"),
        Field("firstname"),
        Field("lastname"),
        Field("date_of_birth", "date"),
        _code("branch_mapping_code"),
        _code("location_mapping_code"),
        _code("workplace_mapping_code"),
        # Not in the parameter lists, but in the documented example request.
        Field("username"),
        Field("password", secret=True),
        Field("language_code", "enum", Language),
        Field("roles", "enum_list", Role),
        Field("synch_protected", "enum", Flag),
    ),
    ("email", "firstname", "lastname"),
    create_only=(Field("register_mail", "enum", Flag),),
    list_filters=(_MAPPING_CODE, Field("email", "email")),
    delete_extra=(Field("delete_mode", "enum", DeleteMode),),
)

BRANCHES = _crud("branch", "Branch", "/api/branches", (_PARENT, _NAME), ("parent_mapping_code", "name"))
LOCATIONS = _crud("location", "Location", "/api/locations", (_NAME,), ("name",))
WORKPLACES = _crud("workplace", "Workplace", "/api/workplaces", (_NAME,), ("name",))
QUALIFICATIONS = _crud(
    "qualification",
    "Qualification group",
    "/api/qualifications",
    (_PARENT, _NAME),
    ("parent_mapping_code", "name"),
)

_COURSE_TYPE_FILTER = Field("type", "enum", CourseFilterType)

COURSES = _crud(
    "course",
    "Course",
    "/api/courses",
    (
        Field("title"),
        Field("start_date", "date"),
        Field("end_date", "date"),
        Field("type", "enum", CourseType),
        Field("assessment_on_end", "enum", Flag),
        Field("number_of_attempts", "int"),
        Field("assessment_show_questions_at_end", "enum", Flag),
        Field("mandatory_time", "int"),
        Field("prerequired_content", "int"),
        _code("instructor_mapping_code"),
        Field("content_id", "int"),
        Field("confirmation_of_completion", "enum", Flag),
        Field("access_days_from_enrollment", "int"),
    ),
    ("title", "start_date"),
    create_only=(Field("users_mapping_codes", "code_list"),),
    list_filters=(
        _MAPPING_CODE,
        Field("archived", "enum", Flag),
        Field("sort", "enum", Sort),
        _COURSE_TYPE_FILTER,
    ),
    delete_extra=(Field("delete_mode", "enum", DeleteMode),),
    paginated=True,
)

RESOURCES: dict[str, Resource] = {
    r.name: r for r in (USERS, BRANCHES, LOCATIONS, WORKPLACES, QUALIFICATIONS, COURSES)
}

_ENROLMENT_FIELDS = (_MAPPING_CODE, Field("users_mapping_codes", "code_list"))
ADD_COURSE_USERS = Endpoint(
    "POST", "/api/courses/addusers", _ENROLMENT_FIELDS, frozenset({"mapping_code", "users_mapping_codes"})
)
REMOVE_COURSE_USERS = Endpoint(
    "POST", "/api/courses/removeusers", _ENROLMENT_FIELDS, frozenset({"mapping_code", "users_mapping_codes"})
)
RENAME_COURSE = Endpoint(
    "POST",
    "/api/coursemappingcode",
    (_code("old_mapping_code"), _code("new_mapping_code")),
    frozenset({"old_mapping_code", "new_mapping_code"}),
)
CONTENT = Endpoint("GET", "/api/content", (Field("content_type", "enum", ContentType),))
USER_COURSES = Endpoint(
    "GET",
    "/api/usercourses",
    (
        Field("updated_at", "datetime"),
        Field("date_finished", "date_or_datetime"),
        _code("user_mapping_code"),
        Field("modules_data", "enum", Flag),
        _COURSE_TYPE_FILTER,
    ),
    paginated=True,
)

ColumnType = Literal["text", "int", "float", "date", "datetime", "json"]

#: The course's category and qualification group, returned with both courses and activities.
_CATEGORY_COLUMNS: dict[str, ColumnType] = {
    "course_category_id": "int",
    "course_category_mapping_code": "text",
    "course_category_name": "text",
    "course_category_parent_id": "int",
    "course_category_parent_mapping_code": "text",
    "course_category_parent_name": "text",
    "qualification_mapping_code": "text",
    "qualification_name": "text",
    "qualification_parent_mapping_code": "text",
    "qualification_parent_name": "text",
}

#: Fields documented as returned by ``GET /api/usercourses``, with the type a warehouse column takes.
USER_COURSE_COLUMNS: dict[str, ColumnType] = {
    "course_mapping_code": "text",
    "course_title": "text",
    "user_mapping_code": "text",
    "user_name": "text",
    "user_surname": "text",
    "user_email": "text",
    "organizational_unit_mapping_code": "text",
    "location_mapping_code": "text",
    "created_at": "datetime",
    "updated_at": "datetime",
    "date_start": "datetime",
    "date_completed": "datetime",
    "progress": "float",
    "score": "float",
    "time_on_course": "int",
    "certificate_link": "text",
    "statement_link": "text",
    "parent_course_mapping_code": "text",
    **_CATEGORY_COLUMNS,
    "status": "int",
    "access_end_date": "date",
    "has_access": "int",
    "assessment_url": "text",
    "live_sessions": "json",
    "modules": "json",
}

#: Fields documented as returned by ``GET /api/courses``.
COURSE_COLUMNS: dict[str, ColumnType] = {
    "id": "int",
    "mapping_code": "text",
    "title": "text",
    "start_date": "date",
    "end_date": "date",
    "type": "int",
    "assessment_on_end": "int",
    "number_of_attempts": "int",
    "assessment_show_questions_at_end": "int",
    "mandatory_time": "int",
    "prerequired_content": "int",
    "content_id": "int",
    "confirmation_of_completion": "int",
    "access_days_from_enrollment": "int",
    **_CATEGORY_COLUMNS,
    "users": "json",
    "content": "json",
    "instructor": "json",
    "live_sessions": "json",
}

#: Fields documented as returned by ``GET /api/content``.
CONTENT_COLUMNS: dict[str, ColumnType] = {
    "id": "int",
    "title": "text",
    "description": "text",
    "short_description": "text",
    "is_published": "int",
    "duration_hour": "int",
    "duration_minute": "int",
    "publish_date": "datetime",
    "content_requirements": "text",
    "content_goals": "text",
    "target_audience": "text",
    "step_count": "int",
}

__all__ = [
    "ADD_COURSE_USERS",
    "BRANCHES",
    "CONTENT",
    "CONTENT_COLUMNS",
    "COURSES",
    "COURSE_COLUMNS",
    "LOCATIONS",
    "QUALIFICATIONS",
    "REMOVE_COURSE_USERS",
    "RENAME_COURSE",
    "RESOURCES",
    "USERS",
    "USER_COURSES",
    "USER_COURSE_COLUMNS",
    "WORKPLACES",
    "ActivityStatus",
    "Endpoint",
    "Field",
    "Resource",
    "parse_date",
    "parse_datetime",
    "to_server_datetime",
]
