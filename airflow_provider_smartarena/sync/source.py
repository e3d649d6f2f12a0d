"""Reading the desired records of a user sync: a list, a SQL query, or a CSV / JSON lines file.

Every source ends as :class:`~airflow_provider_smartarena.sync.plan.SourceRow` objects
holding API field names (after ``field_map``) and ``None`` for "not set". Nothing is validated here
beyond what is needed to read a row: validation is the planner's, with the API model's
:meth:`Endpoint.prepare`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, BaseHook, mask_secret

from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.records import parse_records as _parse
from airflow_provider_smartarena.sync.plan import SourceRow

#: ``source_format`` values, and the file suffixes that imply them when it is not given.
FORMATS = ("csv", "jsonl", "json")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
_CSV_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Unreadable:
    """A source row that could not be read, and what could still be salvaged from it.

    :param error: why the row could not be read, for the report.
    :param partial: source column -> value (or list of candidate values) that could still be read;
        the values of the column that maps to ``mapping_code`` name users.
    :param cells: every cell of a row whose cells do not line up with the header: any of them may be
        the mapping code, shifted out of its column.
    """

    error: str
    partial: Mapping[str, Any] = field(default_factory=dict)
    cells: tuple[Any, ...] = ()


#: What a source reader yields for one row: a record, an unreadable row, or (older form) an error text.
RawRow = Mapping[str, Any] | Unreadable | str


@dataclass
class Source:
    """The rows read from a source, and the columns that were dropped because no API field has them."""

    rows: list[SourceRow]
    ignored_columns: set[str] = field(default_factory=set)


def parse_records(value: Any, name: str) -> list[dict[str, Any]]:
    """A templated list of records (list of dicts, one dict, or their JSON / Python-literal text).

    :param name: the operator argument, for error messages.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    records = _parse(value, name)
    return [records] if isinstance(records, dict) else records


def parse_literal(value: Any, name: str) -> Any:
    """A templated value that may arrive as the text of a dict or list (JSON or a Python literal)."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        records = parse_records(value, name)
        return records[0] if value.strip().startswith("{") else records
    return value


def clean_rows(
    records: Iterable[tuple[int, RawRow]],
    fields: Sequence[str],
    field_map: Mapping[str, str | None] | None = None,
) -> Source:
    """Turn raw records into :class:`SourceRow` objects of API fields.

    :param records: ``(row number, record)``; an :class:`Unreadable` (or a bare error text) is a
        row that could not be read: it becomes an invalid row that still names the codes salvaged
        from it, so that a mirror sync never reads it as the absence of a user.
    :param fields: the API field names a row may carry; other columns are dropped and reported.
    :param field_map: ``{source column: API field}``; a column mapped to ``None`` is dropped quietly.
    """
    source = Source([])
    renames = dict(field_map or {})
    known = set(fields)
    for number, record in records:
        if isinstance(record, str):
            record = Unreadable(record)
        if isinstance(record, Unreadable):
            code_columns = [c for c, target in renames.items() if target == "mapping_code"]
            code_columns += [] if "mapping_code" in renames else ["mapping_code"]
            named: list[Any] = list(record.cells)
            for column in code_columns:
                value = record.partial.get(column)
                named.extend(value if isinstance(value, list) else [value])
            codes = tuple(str(c) for c in named if isinstance(c, str | int) and not isinstance(c, bool))
            source.rows.append(SourceRow(number, {}, error=record.error, named=codes))
            continue
        values: dict[str, Any] = {}
        for column, value in record.items():
            name = renames.get(column, column)
            if name is None:
                continue
            if name not in known:
                source.ignored_columns.add(str(column))
                continue
            values[name] = _clean_value(name, value)
        source.rows.append(SourceRow(number, values))
    return source


def _clean_value(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None  # an empty cell means "not set", never "clear this field"
        if name == "roles" and not value.strip().startswith("["):
            value = value.replace(";", ",")  # "4;6" from a CSV whose own delimiter is the comma
    if name == "password" and value is not None:
        # Registered before anything could log it (a failing row, a debug line of a library).
        mask_secret(str(value))
    return value


def mask_passwords(value: Any) -> None:
    """Register every ``password`` found in a templated records value with the secrets masker."""
    if isinstance(value, str):
        try:
            value = parse_records(value, "users")
        except SmartArenaInputError:
            return
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, list):
        for record in value:
            if isinstance(record, Mapping) and record.get("password"):
                mask_secret(str(record["password"]))


# ---------------------------------------------------------------------------------------------
# sources


def read_list(value: Any, name: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Records of a templated list argument, numbered from 1."""
    return enumerate(parse_records(value, name), start=1)


def read_sql(conn_id: str, sql: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Rows of a query on any common-sql connection, keyed by the cursor's column names."""
    from airflow.providers.common.sql.hooks.handlers import fetch_all_handler
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    hook = BaseHook.get_connection(conn_id).get_hook()
    if not isinstance(hook, DbApiHook):
        raise AirflowException(f"source_conn_id {conn_id!r} is not a SQL connection ({type(hook).__name__})")
    rows = hook.run(sql, handler=fetch_all_handler) or []
    description = hook.last_description or ()
    columns = [str(column[0]) for column in description]
    return enumerate((dict(zip(columns, row, strict=True)) for row in rows), start=1)


def read_path(
    path: str, source_format: str | None = None, conn_id: str | None = None
) -> Iterator[tuple[int, RawRow]]:
    """Records of a CSV, JSON lines or JSON array file: a local path or an ObjectStoragePath URL.

    Rows are numbered by their line in the file, so that a reported row can be found in an editor.
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    fmt = source_format or _format_of(path)
    if fmt not in FORMATS:
        raise AirflowException(f"source_format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    location = ObjectStoragePath(path, conn_id=conn_id) if conn_id else ObjectStoragePath(path)
    # utf-8-sig: spreadsheet exports often start with a byte order mark that would stick to a column.
    text = location.read_bytes().decode("utf-8-sig")
    if fmt == "csv":
        return _read_csv(text)
    if fmt == "json" and text.lstrip().startswith("["):
        return read_list(text, "source_path")
    return _read_json_lines(text)


def _format_of(path: str) -> str:
    fmt = _SUFFIX_FORMATS.get(PurePosixPath(path.split("?", 1)[0]).suffix.lower())
    if fmt is None:
        raise AirflowException(
            f"source_path {path!r}: cannot tell the format from the name; set source_format to one of "
            + ", ".join(FORMATS)
        )
    return fmt


def _read_csv(text: str) -> Iterator[tuple[int, RawRow]]:
    header = text.split("\n", 1)[0]
    # The delimiter is whichever candidate the header uses most: Excel writes ";" in many locales.
    delimiter = max(_CSV_DELIMITERS, key=header.count) if any(d in header for d in _CSV_DELIMITERS) else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for record in reader:
        # DictReader files surplus cells under the key None: the row does not fit the header.
        extra = record.pop(None, None)
        if extra:
            # An unquoted delimiter inside a value ("Smith, Jr.") shifts every later cell, so no
            # column can be trusted, the mapping code's included: every cell may be the code.
            cells = (*record.values(), *extra)
            problem = f"the row has {len(extra)} more cell(s) than the header has columns"
            yield reader.line_num, Unreadable(problem, cells=cells)
        else:
            yield reader.line_num, record


def _read_json_lines(text: str) -> Iterator[tuple[int, RawRow]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            problem = f"not valid JSON: {err.msg} at column {err.colno}"
            yield number, Unreadable(problem, partial=_salvage_json(line))
            continue
        if isinstance(record, dict):
            yield number, record
        else:
            yield number, Unreadable(f"expected a JSON object, got {type(record).__name__}")


#: A ``"key": value`` pair of a JSON object whose value is a string or a number.
_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def _salvage_json(line: str) -> dict[str, list[Any]]:
    """Every scalar value of each key of a JSON line that does not parse (a trailing comma ...).

    A key may appear more than once (a nested object): all its values are kept, as any may be the
    code. Only used to learn which users a broken line names; nothing salvaged is ever sent.
    """
    out: dict[str, list[Any]] = {}
    for match in _JSON_PAIR.finditer(line):
        try:
            out.setdefault(json.loads(f'"{match.group(1)}"'), []).append(json.loads(match.group(2)))
        except ValueError:
            continue
    return out


__all__ = [
    "FORMATS",
    "RawRow",
    "Source",
    "Unreadable",
    "clean_rows",
    "mask_passwords",
    "parse_literal",
    "parse_records",
    "read_list",
    "read_path",
    "read_sql",
]
