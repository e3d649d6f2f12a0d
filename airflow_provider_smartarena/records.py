"""The record vocabulary shared by the record operators and the user sync.

What a record's outcome is called (:class:`Outcome`), how records are parsed from a templated
argument (:func:`parse_records`), how a wanted value is compared with the platform's
(:func:`normalise`, :func:`changed_fields`), how mapping codes compare (:func:`code_key`), and how
secret fields are kept out of the rendered template fields (:class:`SecretRecords`). Nothing here
talks to the network or to Airflow, so each rule is testable with plain values.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.resources import Field, parse_date

#: What a hidden secret shows in the rendered template fields (Airflow's own mask).
MASK = "***"


class Outcome(StrEnum):
    """What happened to one record; the value is what XCom, logs and the results table show."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    PROTECTED = "protected"
    INVALID = "invalid"
    FAILED = "failed"


def parse_records(value: Any, name: str = "records") -> list[dict[str, Any]] | dict[str, Any]:
    """Accept a list of dicts, one dict, or their text form (a template rendered to a string).

    :param value: the argument's value after rendering.
    :param name: the argument, named in error messages.
    :return: a list of dicts, or one dict (one record) as given.
    :raises SmartArenaInputError: naming ``name`` (and the item) when it is not records.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            try:
                # Jinja renders Python objects with repr() unless the DAG renders native objects.
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise SmartArenaInputError(
                    name, "is text that is neither JSON nor a Python literal", "a list of dicts"
                ) from None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = list(value)
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise SmartArenaInputError(
                    f"{name}[{index}]", f"is a {type(item).__name__}, not a dict", "a list of dicts"
                )
        return [dict(item) for item in items]
    raise SmartArenaInputError(name, f"is a {type(value).__name__}", "a list of dicts")


# ---- comparing the wanted record with the platform's ----------------------------------------------


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _list_item(value: Any) -> Any:
    # A platform may return list items as objects ({"id": 4, "name": "HR manager"}).
    if isinstance(value, Mapping):
        for key in ("id", "value", "mapping_code", "code"):
            if key in value:
                return value[key]
    return value


def normalise(fld: Field, value: Any, tz: dt.tzinfo) -> Any:
    """The comparable form of a value of ``fld``, from the operator or from the platform.

    :param fld: the field the value belongs to (its kind decides the comparison).
    :param value: the wanted or the platform's value.
    :param tz: the connection's time zone (the platform's application zone), in which a date that
        comes as an instant is read.
    """
    if value is None or value == "":
        return None
    if fld.kind in ("enum_list", "code_list"):
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        convert = _as_int if fld.kind == "enum_list" else str
        # Order and duplicates carry no meaning in roles or enrolment lists.
        return tuple(sorted({convert(_list_item(v)) for v in items}, key=str))
    if fld.kind in ("enum", "int"):
        return _as_int(value)
    if fld.kind == "date":
        # Laravel 7+ sends a date as the UTC instant of local midnight (2026-11-05T23:00:00.000000Z
        # is 6 November in Ljubljana): its first ten characters are the day before.
        try:
            return parse_date(value, tz)
        except (TypeError, ValueError):
            return str(value)  # not a date: it cannot equal a valid wanted date, so it shows as changed
    if fld.kind == "email":
        return str(value).strip().casefold()
    return str(value)


def changed_fields(
    fields: Iterable[Field], wanted: Mapping[str, Any], current: Mapping[str, Any], tz: dt.tzinfo
) -> list[str]:
    """Names of ``fields`` whose wanted value differs from the platform's ``current`` record.

    A field the platform's record does not show at all counts as changed: it cannot be proven
    equal, and sending it again is harmless, while skipping it could leave a wrong value in place.
    Fields ``wanted`` leaves unset (absent or ``None``) are not compared.

    :param fields: the fields to compare.
    :param wanted: the wanted values, already in the API's form.
    :param current: the platform's record.
    :param tz: the connection's time zone (see :func:`normalise`).
    """
    out = []
    for fld in fields:
        if fld.name not in wanted or wanted[fld.name] is None:
            continue
        if fld.name not in current or normalise(fld, wanted[fld.name], tz) != normalise(
            fld, current[fld.name], tz
        ):
            out.append(fld.name)
    return out


def code_key(value: Any) -> str | None:
    """A mapping code as the platform compares it: surrounding white space trimmed, case kept.

    The platform (Laravel, whose ``TrimStrings`` middleware trims every request string) stores and
    looks up ``'hr-7 '`` as ``'hr-7'``, while ``'HR-7'`` is another user. Values that cannot be a
    code (``None``, a bool, a list ...) give ``None``.

    :param value: a mapping code from a source row or from the platform.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def record_outcome(
    key: str | None,
    outcome: str,
    record: Mapping[str, Any] | None = None,
    changed: Sequence[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """One record's outcome as pushed to XCom: ``{"mapping_code", "action", "record", "changed_fields"}``.

    :param key: the record's mapping code (``None`` when it could not be read).
    :param outcome: an :class:`Outcome` (stored as its plain text value).
    :param record: the record without secrets, if any.
    :param changed: the fields that were sent because they differed.
    :param extra: more keys, such as ``error``.
    """
    return {
        "mapping_code": key,
        "action": str(outcome),
        "record": dict(record) if record is not None else None,
        "changed_fields": list(changed),
        **extra,
    }


# ---- secrets in rendered records ------------------------------------------------------------------


@dataclass
class HiddenSecrets:
    """Secret values taken out of rendered records: record position -> field -> value."""

    values: dict[int, dict[str, Any]] = field(default_factory=dict)

    def reveal(self, records: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        """``records`` (as :func:`parse_records` returns them) with the hidden values put back.

        :param records: the parsed, masked records.
        """
        if not self.values:
            return records
        if isinstance(records, dict):
            return {**records, **self.values.get(0, {})}
        return [{**record, **self.values.get(i, {})} for i, record in enumerate(records)]

    def __bool__(self) -> bool:
        return bool(self.values)


def hide_secrets(
    value: Any, secret_fields: Iterable[str], name: str = "records", previous: HiddenSecrets | None = None
) -> tuple[Any, HiddenSecrets]:
    """Replace secret fields in a records value by :data:`MASK`; return it and what was hidden.

    A value that is not records (an unrendered template, an ``XComArg``; it is validated in
    ``execute``) is returned unchanged.

    :param value: the argument (a list of dicts, one dict, or their text).
    :param secret_fields: the field names to hide (``password`` ...).
    :param name: the argument, for error messages.
    :param previous: what an earlier call hid: a field that already shows :data:`MASK` (the value
        is being set again, e.g. rendered twice) keeps its hidden value.
    """
    secret = frozenset(secret_fields)
    if value is None or not secret:
        return value, HiddenSecrets()
    try:
        records = parse_records(value, name)
    except SmartArenaInputError:
        return value, HiddenSecrets()
    before = previous.values if previous is not None else {}
    hidden = HiddenSecrets()
    items = [records] if isinstance(records, dict) else records
    masked = []
    for index, record in enumerate(items):
        found = {}
        for key in secret.intersection(record):
            if record[key] == MASK and key in before.get(index, {}):
                found[key] = before[index][key]
            elif record[key] is not None and record[key] != MASK:
                found[key] = record[key]
        if found:
            hidden.values[index] = found
        masked.append({k: (MASK if k in found else v) for k, v in record.items()})
    if not hidden:
        return value, hidden
    return (masked[0] if isinstance(records, dict) else masked), hidden


class SecretRecords:
    """A records attribute (``records=``, ``users=``) whose secret fields never stay in the attribute.

    Airflow stores an operator's rendered template fields (the metadata table
    ``rendered_task_instance_fields``, the UI's *Rendered Template* tab) right after rendering,
    before ``execute``; a password that a template such as ``"{{ dag_run.conf['users'] }}"``
    brought in would be stored in clear. The secrets masker cannot be relied on for it (it skips
    short values and may be configured off). So every value assigned to the attribute — by
    ``__init__``, by ``render_template_fields``, by a mapped task's rendering, which sets the
    attribute with ``setattr`` without calling the operator's ``render_template_fields`` — has
    its secret fields replaced by :data:`MASK`, and the values are kept on the instance, outside
    every template field, for :meth:`revealed` in ``execute``.

    :param secret_fields: the secret field names for an instance (``password`` ...).
    :param on_hidden: called with each hidden value, e.g. to register it with the secrets masker.
    """

    def __init__(
        self,
        secret_fields: Callable[[Any], Iterable[str]],
        on_hidden: Callable[[Any], None] | None = None,
    ) -> None:
        self.secret_fields = secret_fields
        self.on_hidden = on_hidden
        self.name = "records"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(f"_{self.name}_masked")

    def __set__(self, obj: Any, value: Any) -> None:
        previous = obj.__dict__.get(f"_{self.name}_hidden")
        masked, hidden = hide_secrets(value, self.secret_fields(obj), self.name, previous)
        if self.on_hidden is not None:
            for values in hidden.values.values():
                for secret in values.values():
                    self.on_hidden(secret)
        obj.__dict__[f"_{self.name}_masked"] = masked
        obj.__dict__[f"_{self.name}_hidden"] = hidden

    def revealed(self, obj: Any) -> Any:
        """The attribute's value with the hidden secrets put back (parsed, if any were hidden).

        :param obj: the operator.
        """
        value = self.__get__(obj)
        hidden = obj.__dict__.get(f"_{self.name}_hidden")
        if value is None or not hidden:
            return value
        return hidden.reveal(parse_records(value, self.name))


__all__ = [
    "MASK",
    "HiddenSecrets",
    "Outcome",
    "SecretRecords",
    "changed_fields",
    "code_key",
    "hide_secrets",
    "normalise",
    "parse_records",
    "record_outcome",
]
