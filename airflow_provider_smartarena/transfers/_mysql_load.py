"""MySQL-family bulk loads: a batch as the text of ``LOAD DATA LOCAL INFILE``, built column by column.

A multi-row ``INSERT`` makes the server parse every value as SQL (about half of its work on a
batch of usercourses), and the client write every value as a literal. ``LOAD DATA`` reads plain
tab-separated fields instead, and here a batch's text is built a column at a time: the values of a
column share a type, so one check decides how the whole column is written and C code (``join``,
``map``) does the rest, where a call a value cost more than the write itself.

Fields use ``LOAD DATA``'s defaults (tab between fields, newline after a row, backslash escapes,
``\\N`` for NULL); a text column holding a backslash, tab or newline is escaped value by value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

Row = tuple[Any, ...]

#: How ``LOAD DATA`` reads a NULL field.
NULL = "\\N"
_NONE = type(None)
# What ends or escapes a field: a text value holding one is escaped.
_SPECIAL = ("\\", "\t", "\n")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _text(column: Sequence[Any], has_null: bool) -> Sequence[str]:
    joined = "".join(filter(None, column))
    if any(special in joined for special in _SPECIAL):
        return [NULL if v is None else _escape(v) for v in column]
    return [NULL if v is None else v for v in column] if has_null else column


def _numbers(column: Sequence[Any], has_null: bool) -> Sequence[str] | None:
    # repr, not str: the shortest text that reads back as the same double.
    if not all(map(math.isfinite, filter(None, column))):
        return None  # NaN and infinities have no MySQL value: the literal path says why
    return [NULL if v is None else repr(v) for v in column] if has_null else list(map(repr, column))


def _datetimes(column: Sequence[Any], has_null: bool) -> Sequence[str]:
    # The wall clock as given (DATETIME has no time zone), as the literal path writes it.
    if any(v.tzinfo is not None for v in filter(None, column)):
        column = [v if v is None else v.replace(tzinfo=None) for v in column]
    iso = dt.datetime.isoformat
    return [NULL if v is None else iso(v, " ") for v in column] if has_null else [iso(v, " ") for v in column]


def _dates(column: Sequence[Any], has_null: bool) -> Sequence[str]:
    return [NULL if v is None else v.isoformat() for v in column] if has_null else list(map(str, column))


#: The writer of a column by the set of its values' types (besides None); a column of any other
#: mix (a bool, a Decimal, dates and datetimes together) is not written here.
_BY_TYPES: dict[frozenset[type], Callable[[Sequence[Any], bool], Sequence[str] | None]] = {
    frozenset({str}): _text,
    frozenset({int}): _numbers,
    frozenset({float}): _numbers,
    frozenset({int, float}): _numbers,
    frozenset({dt.datetime}): _datetimes,
    frozenset({dt.date}): _dates,
    frozenset(): lambda column, _: [NULL] * len(column),
}


def load_data_text(rows: Sequence[Row]) -> bytes | None:
    """``rows`` as the UTF-8 text of a ``LOAD DATA`` file, or None if a column holds values of a
    type not written here (the caller writes such a batch another way)."""
    if not rows:
        return b""
    fields: list[Sequence[str]] = []
    for column in zip(*rows, strict=True):
        types = set(map(type, column))
        has_null = _NONE in types
        types.discard(_NONE)
        writer = _BY_TYPES.get(frozenset(types))
        written = writer(column, has_null) if writer is not None else None
        if written is None:
            return None
        fields.append(written)
    return ("\n".join(map("\t".join, zip(*fields, strict=True))) + "\n").encode("utf-8")
