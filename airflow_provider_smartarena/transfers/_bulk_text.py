"""Bulk loads: a batch as text for MySQL-family ``LOAD DATA LOCAL INFILE``.

A multi-row ``INSERT`` makes the server parse every value as SQL (about half of its work on a
batch of usercourses), and the client write every value as a literal; ``LOAD DATA`` reads fields.
Two writers, the first that can write a batch exactly is used:

* :func:`json_rows`: the batch as one JSON array, written by msgspec in C, which ``LOAD DATA``
  reads as quoted, comma-separated fields once its ``null`` fields are spelled ``\\N``. Its checks
  (types, escapes, nulls) are C calls over the whole batch too: about 5 µs a usercourse row,
  against 9 µs for the tab-separated text (one 2-core machine).
* :func:`bulk_text`: tab-separated text built a column at a time: the values of a column share a
  type, so one check decides how the whole column is written and C code (``join``, ``map``) does
  the rest. It takes what the first refuses (a datetime with a time zone, a control character).
  The format is ``LOAD DATA``'s default: tab between fields, newline after a row, ``\\N`` for
  NULL, backslash escapes (``\\\\``, ``\\t``, ``\\n``, ``\\r``).

(PostgreSQL's ``COPY`` reads the tab-separated format too, but psycopg's C ``write_row`` builds it
faster than either.)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from operator import methodcaller
from typing import IO, Annotated, Any

import msgspec

Row = tuple[Any, ...]

#: How ``LOAD DATA`` reads :func:`bulk_text`'s text (spelled in hex: NO_BACKSLASH_ESCAPES and
#: ANSI_QUOTES leave it alone).
TSV_FORMAT = "FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A'"
#: How ``LOAD DATA`` reads :func:`json_rows`' text: ``"`` encloses text, in which a quote or a
#: backslash is escaped by a backslash as in JSON; ``],[`` ends a row (inside quotes it is text).
JSON_ROWS_FORMAT = (
    "FIELDS TERMINATED BY X'2C' ENCLOSED BY X'22' ESCAPED BY X'5C' LINES TERMINATED BY X'5D2C5B'"
)

#: Rows written at a time. A batch's text whole is several MB, and every pass over it (write,
#: check, split) then runs from memory rather than cache: 5000 usercourse rows cost 10 µs a row
#: written whole, 5 to 6 µs in parts of 500 to 2000 (one 2-core machine with 1 MB of L2 a core).
PART_ROWS = 500

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


def write_load_data(file: IO[bytes], rows: Sequence[Row], rows_type: Any = None) -> str | None:
    """Write ``rows`` to ``file`` (binary, empty) as one ``LOAD DATA`` file and return the clause
    that reads it: JSON rows where ``rows_type`` (see :func:`row_type`) is given and every part can
    be written so, else tab-separated text; None, the file left empty, if neither writes every
    value exactly. Each part goes to the file as it is written: a batch's text is never held whole.
    """
    for writer, fields in ((_json_writer(rows_type), JSON_ROWS_FORMAT), (bulk_text, TSV_FORMAT)):
        if writer is None:
            continue
        for start in range(0, len(rows), PART_ROWS):
            text = writer(rows[start : start + PART_ROWS])
            if text is None:  # one format for the whole file: start again with the next writer
                file.seek(0)
                file.truncate()
                break
            file.write(text)
        else:
            return fields
    return None


def _json_writer(rows_type: Any) -> Callable[[Sequence[Row]], bytes | None] | None:
    return None if rows_type is None else lambda part: json_rows(part, rows_type)


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


# ------------------------------------------------------------------ JSON rows

_ENCODER = msgspec.json.Encoder()
#: A datetime without a time zone: msgspec writes it ``YYYY-MM-DDTHH:MM:SS[.ffffff]``, the wall
#: clock, which DATETIME reads as is (one with a zone would be written with its offset).
NaiveDatetime = Annotated[dt.datetime, msgspec.Meta(tz=False)]
# JSON escapes LOAD DATA reads otherwise: \f and \uXXXX (control characters) would be read as
# the letters; \" \\ \b \n \r \t mean what they mean in JSON. A backslash of the text itself
# followed by u or f is written \\u, \\f and matches too: such a batch only goes tab-separated.
_UNREAD_ESCAPE = re.compile(rb"\\[uf]")
_COUNT_NONE = methodcaller("count", None)


def row_type(column_types: Sequence[Any]) -> Any:
    """The type of rows :func:`json_rows` writes: each value of its column's type (``str``, ``int``,
    ``float``, :data:`NaiveDatetime`) or None."""
    return list[tuple[tuple(kind | None for kind in column_types)]]  # type: ignore[misc]


def json_rows(rows: Sequence[Row], rows_type: Any) -> bytes | None:
    """``rows`` as one JSON array, laid out for :data:`JSON_ROWS_FORMAT`; or None when a value is
    not of its column's type in :func:`row_type` ``rows_type`` (booleans are not ints here), a
    float is not finite, text holds a control character other than tab, newline, carriage return
    and backspace, or the first column a NULL (the caller then writes the batch another way).

    msgspec writes NULL as the bare word ``null``, which LOAD DATA would read as text; every one is
    rewritten ``\\N`` once the text is known to hold ``,null`` exactly once per None, i.e. no text
    holds it (a NaN, which msgspec also writes ``null``, makes one more).
    """
    if not rows or any(row[0] is None for row in rows):
        return None
    try:
        msgspec.convert(rows, rows_type, strict=True)
        data = _ENCODER.encode(rows)
    except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
        return None
    if _UNREAD_ESCAPE.search(data):
        return None
    # [[a,b],[c,d]] -> a,b],[c,d],[  (each row ends with the line terminator)
    fields = data[2:-2].split(b",null")
    if len(fields) - 1 != sum(map(_COUNT_NONE, rows)):
        return None
    return b",\\N".join(fields) + b"],["
