"""Target tables as data: columns, natural keys, and turning API records into typed rows.

A :class:`TableSpec` is all the loader and the dialects need to create a table and upsert into it.
The specs here are derived from :mod:`airflow_provider_smartarena.resources` (the documented
returned fields), so a field the API documents is a column, under its documented name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from airflow_provider_smartarena.resources import (
    BRANCHES,
    CONTENT_COLUMNS,
    COURSE_COLUMNS,
    LOCATIONS,
    QUALIFICATIONS,
    USER_COURSE_COLUMNS,
    USERS,
    WORKPLACES,
    Resource,
    parse_date,
    parse_datetime,
)

#: The API's column types plus ``timestamp``: an instant in UTC with microseconds (bookkeeping columns).
SqlType = Literal["text", "int", "float", "date", "datetime", "json", "timestamp"]

EXTRACTED_AT = "_extracted_at"
DELETED_AT = "_deleted_at"

# Table names are interpolated into SQL, so they must be plain (optionally qualified) identifiers.
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


def check_identifier(name: str, what: str = "table") -> str:
    """Return ``name`` if it is a plain identifier such as ``schema.table``, else raise ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.match(name):
        raise ValueError(
            f"{what} name {name!r} is not a plain identifier (letters, digits, _ and $, "
            "optionally qualified as schema.table)"
        )
    return name


@dataclass(frozen=True)
class Column:
    """One column: its name and type."""

    name: str
    type: SqlType


@dataclass(frozen=True)
class TableSpec:
    """A table the loader owns.

    :param name: the table, optionally schema-qualified.
    :param columns: every column, in order; rows are tuples in this order.
    :param key: the primary key (the natural key of the records).
    :param version: the column that says which of two rows with the same key is newer
        (``updated_at``); None means the latest write wins.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    version: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.name)
        names = self.column_names
        missing = [k for k in (*self.key, *([self.version] if self.version else [])) if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key/version column(s) {missing} are not columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def index(self, column: str) -> int:
        return self.column_names.index(column)

    def renamed(self, name: str) -> TableSpec:
        return TableSpec(name, self.columns, self.key, self.version)


def _bookkeeping() -> tuple[Column, ...]:
    return (Column(EXTRACTED_AT, "timestamp"), Column(DELETED_AT, "timestamp"))


def _columns(types: Mapping[str, SqlType]) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in types.items())


def user_courses_spec(table: str) -> TableSpec:
    """``GET /api/usercourses``: one row per (user, course); newer ``updated_at`` wins."""
    return TableSpec(
        table,
        (*_columns(USER_COURSE_COLUMNS), *_bookkeeping()),
        key=("user_mapping_code", "course_mapping_code"),
        version="updated_at",
    )


# How a writable field of a resource (as resources.py checks it) is stored when read back.
_KIND_TO_TYPE: dict[str, SqlType] = {
    "code": "text",
    "str": "text",
    "email": "text",
    "date": "date",
    "datetime": "datetime",
    "date_or_datetime": "text",
    "int": "int",
    "enum": "int",
    "enum_list": "json",
    "code_list": "json",
}


def _resource_columns(resource: Resource) -> dict[str, SqlType]:
    # ``comparable`` holds the resource's non-secret writable fields: what a GET returns, never a password.
    columns: dict[str, SqlType] = {"mapping_code": "text"}
    for name in resource.comparable:
        columns[name] = _KIND_TO_TYPE[resource.update.field(name).kind]
    return columns


#: Dimension snapshots: resource name -> (returned fields with their types, key column).
DIMENSIONS: dict[str, tuple[dict[str, SqlType], str]] = {
    "users": (_resource_columns(USERS), "mapping_code"),
    "branches": (_resource_columns(BRANCHES), "mapping_code"),
    "locations": (_resource_columns(LOCATIONS), "mapping_code"),
    "workplaces": (_resource_columns(WORKPLACES), "mapping_code"),
    "qualifications": (_resource_columns(QUALIFICATIONS), "mapping_code"),
    "courses": (dict(COURSE_COLUMNS), "mapping_code"),
    "content": (dict(CONTENT_COLUMNS), "id"),
}


def dimension_spec(resource: str, table: str) -> TableSpec:
    """The snapshot table of a resource (``users``, ``branches`` ... ``courses``, ``content``)."""
    try:
        types, key = DIMENSIONS[resource]
    except KeyError:
        raise ValueError(f"resource {resource!r} is not one of {', '.join(DIMENSIONS)}") from None
    if "password" in types:  # defence in depth: a password must never reach a warehouse
        raise AssertionError("a password column in a snapshot spec")
    return TableSpec(table, (*_columns(types), *_bookkeeping()), key=(key,))


# ---------------------------------------------------------------------- values


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return _json(value)
    return str(value)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _json(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _encode_json(value)


#: Re-encoding the nested data is a large cost per record: msgspec writes the same compact JSON as
#: the standard library several times faster. Shared with the loader's page builder.
JSON_ENCODER = msgspec.json.Encoder()


def _encode_json(value: Any) -> str:
    return JSON_ENCODER.encode(value).decode()


Converter = Callable[[Any], Any]


def _is_canonical(value: Any, length: int) -> bool:
    """True for text already in the API's own form: ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``.

    Only the shape is checked: such values are stored as text unchanged (SQLite has no date types,
    and parsing and formatting every one again would double the cost of a row).
    """
    return value.__class__ is str and len(value) == length and value[4] == "-" and value[length - 3] in "-:"


#: How a column's value is checked in C when a page is typed at once; the others get a Python converter.
_TYPED: dict[SqlType, Any] = {"text": str | None, "int": int | None, "float": float | None}


def typed_record(spec: TableSpec, *, raw_json: bool = False) -> tuple[type[msgspec.Struct], list[int]]:
    """A msgspec struct of the spec's data columns, and the positions still needing a converter.

    ``msgspec.convert(records, list[struct])`` checks whole pages of plain text, int and float
    values in C (strict: no coercion, so a value it accepts is one the Python converters would
    return unchanged); dates, datetimes and JSON come through as they are, for their converters.

    :param raw_json: JSON columns as :class:`msgspec.Raw`, their text as the server sent it, for
        decoding response bodies: building modules and sessions as Python objects only to encode
        them again cost more than the rest of the record (``msgspec.convert`` cannot make Raw).
    """
    columns = [c for c in spec.columns if c.name not in (EXTRACTED_AT, DELETED_AT)]
    fields = [(c.name, _field_type(c.type, raw_json), None) for c in columns]
    suffix = "_raw_row" if raw_json else "_row"
    struct = msgspec.defstruct(f"{spec.name.replace('.', '_')}{suffix}", fields, gc=False)
    return struct, [i for i, c in enumerate(columns) if c.type not in _TYPED]


def _field_type(kind: SqlType, raw_json: bool) -> Any:
    if raw_json and kind == "json":
        return msgspec.Raw
    return _TYPED.get(kind, Any)


def raw_json_text(raw: msgspec.Raw) -> str | None:
    """A JSON column's value from its raw JSON: the text itself; ``null`` is None, and a string is
    taken as JSON text already (as :func:`converters` take it)."""
    text = str(raw, "utf-8")
    if text == "null":
        return None
    if text.startswith('"'):
        return str(msgspec.json.decode(text))
    return text


def converters(spec: TableSpec, tz: dt.tzinfo, *, dates_as_text: bool = False) -> list[Converter]:
    """One function per non-bookkeeping column turning an API value into its Python value.

    :param dates_as_text: return dates and datetimes as ISO text (``YYYY-MM-DD HH:MM:SS`` on the
        server's wall clock), for databases that store them as text; values already in that form
        are kept as they are, which saves parsing and formatting them again.
    """

    def datetime_(value: Any) -> dt.datetime | None:
        return parse_datetime(value, tz)

    def date_(value: Any) -> dt.date | None:
        return parse_date(value, tz)

    def as_text(parse: Callable[[Any, dt.tzinfo], dt.date | None], width: int) -> Converter:
        """``parse``'s value as ISO text; text already of the API's form and ``width`` is kept."""

        def text(value: Any) -> str | None:
            if _is_canonical(value, width):
                return str(value)
            parsed = parse(value, tz)
            if parsed is None:
                return None
            return parsed.isoformat(" ") if isinstance(parsed, dt.datetime) else parsed.isoformat()

        return text

    by_type: dict[SqlType, Converter] = {
        "text": _text,
        "int": _int,
        "float": _float,
        "date": as_text(parse_date, 10) if dates_as_text else date_,
        "datetime": as_text(parse_datetime, 19) if dates_as_text else datetime_,
        "json": _json,
    }
    return [by_type[c.type] for c in spec.columns if c.name not in (EXTRACTED_AT, DELETED_AT)]
