"""Bulk writes shared by the dialects: one row per key, and batches cut to what a packet holds.

One statement must never carry a key twice (PostgreSQL refuses ``ON CONFLICT`` on the same key
twice in one command; MySQL applies a multi-row upsert in order, so an older duplicate after a
newer one would be compared against it), so the dialects' bulk upserts collapse duplicates
(:func:`newest_per_key`) unless the rows are :class:`UniqueRows`: the loader's batches, which it
kept one row per key as it queued them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from airflow_provider_smartarena.transfers._schema import TableSpec

Row = tuple[Any, ...]
T = TypeVar("T")


def older(version: Any, other: Any) -> bool:
    """True when ``version`` is strictly older than ``other``; a missing version is the oldest."""
    if version is None or other is None:
        return version is None and other is not None
    return bool(version < other)


class UniqueRows(list[Row]):
    """Rows known to hold one row per key (the loader's batch), which :func:`newest_per_key`
    passes as they are. A slice or a cleaned copy is a plain list again, and checked."""


def newest_per_key(spec: TableSpec, rows: Sequence[Row]) -> Sequence[Row]:
    """``rows`` with one row per key: the newest version, the later row of equal versions (as
    row-by-row upserts would leave it). ``rows`` itself when no key repeats (the usual case)."""
    if type(rows) is UniqueRows:  # hashing every key again cost 0.6 µs a usercourse row
        return rows
    names = spec.column_names
    key_index = [names.index(k) for k in spec.key]
    if len(key_index) == 1:
        (k,) = key_index
        keys: list[Any] = [row[k] for row in rows]
    else:
        keys = [tuple([row[i] for i in key_index]) for row in rows]
    if len(set(keys)) == len(keys):
        return rows
    version = names.index(spec.version) if spec.version else None
    kept: dict[Any, Row] = {}
    for key, row in zip(keys, rows, strict=True):
        held = kept.get(key)
        if held is None or version is None or not older(row[version], held[version]):
            kept[key] = row
    return list(kept.values())


def chunks(
    rows: Sequence[T], max_bytes: int, max_rows: int, size: Callable[[T], int] | None = None
) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``rows`` of at most ``max_rows`` rows and about ``max_bytes`` of text.

    ``size`` measures an item (by default the length of its ``repr``, C code); a single item
    larger than ``max_bytes`` is still sent alone, and the server says why.
    """
    measure = size or (lambda item: len(repr(item)))
    start, size_so_far = 0, 0
    for index, row in enumerate(rows):
        length = measure(row)
        if index > start and (size_so_far + length > max_bytes or index - start >= max_rows):
            yield rows[start:index]
            start, size_so_far = index, 0
        size_so_far += length
    if start < len(rows):
        yield rows[start:]


# --------------------------------------------------------------------- MySQL-family literals


def _text(value: str) -> str:
    # Hexadecimal with a character set introducer: nothing in it can end the literal, whatever
    # the server's sql_mode (NO_BACKSLASH_ESCAPES changes what a backslash means in '...').
    return f"_utf8mb4 X'{value.encode('utf-8').hex()}'"


def _int(value: int) -> str:
    return str(int(value))  # int(): a bool is an int whose str() is 'True'


def _float(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} cannot be stored in a MySQL-family column")
    return repr(value)


def _datetime(value: dt.datetime) -> str:
    # The wall clock as given, as the drivers send it (DATETIME has no time zone); isoformat is
    # C code, a tenth of the cost of a strftime pattern.
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return f"'{value.isoformat(' ')}'"


def _date(value: dt.date) -> str:
    return f"'{value.isoformat()}'"


_LITERAL: dict[type, Callable[[Any], str]] = {
    str: _text,
    int: _int,
    bool: _int,
    float: _float,
    dt.datetime: _datetime,
    dt.date: _date,
    type(None): lambda _: "NULL",
}


def mysql_values(rows: Sequence[Row]) -> list[str] | None:
    """Each row as a MySQL ``VALUES`` tuple of literals (ASCII only: its length is its size in
    bytes), or None if a value has a type not known here.

    mysql-connector-python's pure-Python driver (its C extension needs a newer OpenSSL than many
    hosts have) converts and escapes every parameter in Python: 80 µs a usercourse row, more than
    the rest of the transfer. One lookup and one C-level conversion a value costs a tenth of it.
    """
    literal = _LITERAL
    try:
        return ["(" + ", ".join([literal[v.__class__](v) for v in row]) + ")" for row in rows]
    except (KeyError, ValueError):  # the driver converts it, or says why it cannot
        return None
