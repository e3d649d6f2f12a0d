"""Bulk loads: a batch as tab-separated text, built column by column, for MySQL-family
``LOAD DATA LOCAL INFILE``.

A multi-row ``INSERT`` makes the server parse every value as SQL (about half of its work on a
batch of usercourses), and the client write every value as a literal. ``LOAD DATA`` reads plain
tab-separated fields instead, and here a batch's text is built a column at a time: the values of a
column share a type, so one check decides how the whole column is written and C code (``join``,
``map``) does the rest, where a call a value cost more than the write itself. (PostgreSQL's
``COPY`` reads the same format, but psycopg's C ``write_row`` builds it faster than this does.)

The format is ``LOAD DATA``'s default: tab between fields, newline after a row, ``\\N`` for NULL,
backslash escapes (``\\\\``, ``\\t``, ``\\n``, ``\\r``). A text column holding one of those is
escaped value by value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

Row = tuple[Any, ...]

#: How ``LOAD DATA`` and ``COPY`` read a NULL field.
NULL = "\\N"
_NONE = type(None)
# What ends or escapes a field: a text value holding one is escaped.
_SPECIAL = ("\\", "\t", "\n", "\r")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _text(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str]:
    if escape:
        joined = "".join(filter(None, column))
        if any(special in joined for special in _SPECIAL):
            column = [v if v is None else _escape(v) for v in column]
    return [NULL if v is None else v for v in column] if has_null else column


def _integers(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str]:
    return [NULL if v is None else repr(v) for v in column] if has_null else list(map(repr, column))


def _numbers(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str] | None:
    # One sum tells whether any float is NaN or infinite (C code; a sum that overflows sends the
    # batch to the literal path, which writes it or says why).
    try:
        finite = math.isfinite(sum(filter(None, column)))
    except OverflowError:
        finite = False
    if not finite:
        return None  # NaN and infinities have no MySQL value: the literal path says why
    # repr, not str: the shortest text that reads back as the same double.
    return _integers(column, has_null, escape)


def _datetimes(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str]:
    if column.count(column[0]) == len(column):  # e.g. _extracted_at: one value a run
        return [_datetime_text(column[0])] * len(column)
    return [_datetime_text(v) for v in column]


def _datetime_text(value: dt.datetime | None) -> str:
    if value is None:
        return NULL
    # The wall clock as given (DATETIME has no time zone), as the literal path writes it.
    return value.replace(tzinfo=None).isoformat(" ")


def _dates(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str]:
    return [NULL if v is None else v.isoformat() for v in column] if has_null else list(map(str, column))


def _nulls(column: Sequence[Any], has_null: bool, escape: bool) -> Sequence[str]:
    return [NULL] * len(column)


#: The writer of a column by the set of its values' types (besides None); a column of any other
#: mix (a bool, a Decimal, dates and datetimes together) is not written here: the two servers
#: spell booleans differently, and a driver knows the rest.
_BY_TYPES: dict[frozenset[type], Callable[[Sequence[Any], bool, bool], Sequence[str] | None]] = {
    frozenset({str}): _text,
    frozenset({int}): _integers,
    frozenset({float}): _numbers,
    frozenset({int, float}): _numbers,
    frozenset({dt.datetime}): _datetimes,
    frozenset({dt.date}): _dates,
    frozenset(): _nulls,
}


def bulk_text(rows: Sequence[Row]) -> bytes | None:
    """``rows`` as UTF-8 tab-separated text (a ``LOAD DATA`` file, a ``COPY`` stream), or None if a
    column holds values of a type not written here (the caller writes such a batch another way)."""
    if not rows:
        return b""
    # Text rarely holds a tab, newline, carriage return or backslash: the batch is written without
    # looking, then the whole text is counted (C code, once) and written again, escaped, only when
    # it holds more of them than its own fields, rows and NULLs make.
    written = _joined(rows, escape=False)
    if written is not None and not _as_laid_out(*written, len(rows), len(rows[0])):
        written = _joined(rows, escape=True)  # the same columns: the same writers take them
    return None if written is None else written[0]


def _joined(rows: Sequence[Row], *, escape: bool) -> tuple[bytes, int] | None:
    """The rows' text and the number of NULLs in it, or None (see :func:`bulk_text`)."""
    fields: list[Sequence[str]] = []
    nulls = 0
    for column in zip(*rows, strict=True):
        types = set(map(type, column))
        has_null = _NONE in types
        types.discard(_NONE)
        writer = _BY_TYPES.get(frozenset(types))
        written = writer(column, has_null, escape) if writer is not None else None
        if written is None:
            return None
        fields.append(written)
        if has_null:
            nulls += column.count(None)
    return ("\n".join(map("\t".join, zip(*fields, strict=True))) + "\n").encode("utf-8"), nulls


def _as_laid_out(data: bytes, nulls: int, rows: int, width: int) -> bool:
    """True when ``data``'s tabs, newlines and backslashes are only those of its layout: the
    separators, and the backslash of each NULL's ``\\N`` (counted in bytes: ``bytes.count``
    looks for one byte with ``memchr``, several times faster than in a ``str``)."""
    return (
        data.count(b"\t") == rows * (width - 1)
        and data.count(b"\n") == rows
        and data.count(b"\\") == nulls
        and b"\r" not in data
    )
