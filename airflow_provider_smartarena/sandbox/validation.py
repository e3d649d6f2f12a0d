"""Field rules and a small Laravel-like validator (types, required, allowed values, formats).

The same rules describe the parameters in the OpenAPI document (see ``openapi.py``), so what is
documented is what is enforced. Reference checks (does this branch exist?) live in ``operations.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.sandbox.clock import parse_date, parse_datetime
from airflow_provider_smartarena.sandbox.errors import attribute, invalid

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INT_RE = re.compile(r"^[+-]?\d+$")

# Kinds of value a rule accepts.
STRING, EMAIL, INTEGER, FLAG, DATE, DATETIME, INT_ARRAY, STRING_ARRAY = (
    "string",
    "email",
    "integer",
    "flag",  # 0 or 1 (also true/false, "0"/"1", "true"/"false")
    "date",
    "datetime",
    "int_array",
    "string_array",
)
_FLAG_VALUES: dict[Any, int] = {0: 0, 1: 1, "0": 0, "1": 1, "true": 1, "false": 0}


@dataclass(frozen=True)
class Rule:
    """How one parameter is validated (and documented)."""

    name: str
    kind: str = STRING
    required: bool = False
    choices: tuple[int | str, ...] | None = None
    nullable: bool = False  # null (or "") is accepted and means "clear this field"
    max_length: int | None = 255
    minimum: int | None = None
    description: str = ""


def validate(params: dict[str, Any], rules: tuple[Rule, ...], zone: ZoneInfo) -> dict[str, Any]:
    """Return the cleaned values of the parameters present in ``params``; 422 on any problem.

    Parameters not covered by ``rules`` are ignored, as Laravel's ``validated()`` would do.
    """
    cleaned, errors = check(params, rules, zone)
    if errors:
        raise invalid(errors)
    return cleaned


def check(
    params: dict[str, Any], rules: tuple[Rule, ...], zone: ZoneInfo
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned values of the valid parameters, and field -> messages for the invalid ones."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for rule in rules:
        present = rule.name in params
        value = params.get(rule.name)
        if value is None:
            if rule.required:
                errors[rule.name] = [f"The {attribute(rule.name)} field is required."]
            elif present and rule.nullable:
                cleaned[rule.name] = None
            elif present:
                errors[rule.name] = [_type_message(rule)]
            continue
        try:
            cleaned[rule.name] = _clean(rule, value, zone, errors)
        except _InvalidValueError as exc:
            errors.setdefault(rule.name, []).append(str(exc))
    return cleaned, errors


class _InvalidValueError(ValueError):
    pass


def _type_message(rule: Rule) -> str:
    name = attribute(rule.name)
    return {
        INTEGER: f"The {name} field must be an integer.",
        FLAG: f"The {name} field must be 0 or 1.",
        DATE: f"The {name} field must match the format Y-m-d.",
        DATETIME: f"The {name} field must be a valid date.",
        INT_ARRAY: f"The {name} field must be an array.",
        STRING_ARRAY: f"The {name} field must be an array.",
        EMAIL: f"The {name} field must be a valid email address.",
    }.get(rule.kind, f"The {name} field must be a string.")


def _clean(rule: Rule, value: Any, zone: ZoneInfo, errors: dict[str, list[str]]) -> Any:
    if rule.kind in (INT_ARRAY, STRING_ARRAY):
        return _clean_array(rule, value, errors)
    if rule.kind == FLAG:
        flag = as_flag(value)
        if flag is None:
            raise _InvalidValueError(_type_message(rule))
        return flag
    if rule.kind == INTEGER:
        number = as_int(value)
        if number is None:
            raise _InvalidValueError(_type_message(rule))
        return _check_choice(rule, number)
    if not isinstance(value, str):
        raise _InvalidValueError(_type_message(rule))
    if rule.kind == DATE:
        if parse_date(value) is None:
            raise _InvalidValueError(_type_message(rule))
        return value
    if rule.kind == DATETIME:
        epoch = parse_datetime(value, zone)
        if epoch is None:
            raise _InvalidValueError(_type_message(rule))
        return epoch
    if rule.max_length is not None and len(value) > rule.max_length:
        raise _InvalidValueError(
            f"The {attribute(rule.name)} field must not be greater than {rule.max_length} characters."
        )
    if rule.kind == EMAIL and not _EMAIL_RE.match(value):
        raise _InvalidValueError(_type_message(rule))
    return _check_choice(rule, value)


def _check_choice(rule: Rule, value: int | str) -> int | str:
    if rule.choices is not None and value not in rule.choices:
        raise _InvalidValueError(f"The selected {attribute(rule.name)} is invalid.")
    if rule.minimum is not None and isinstance(value, int) and value < rule.minimum:
        raise _InvalidValueError(f"The {attribute(rule.name)} field must be at least {rule.minimum}.")
    return value


def _clean_array(rule: Rule, value: Any, errors: dict[str, list[str]]) -> list[Any]:
    if not isinstance(value, list):
        raise _InvalidValueError(_type_message(rule))
    cleaned: list[Any] = []
    for index, item in enumerate(value):
        key = f"{rule.name}.{index}"
        if rule.kind == INT_ARRAY:
            number = as_int(item)
            if number is None:
                errors.setdefault(key, []).append(f"The {key} field must be an integer.")
            elif rule.choices is not None and number not in rule.choices:
                errors.setdefault(key, []).append(f"The selected {key} is invalid.")
            else:
                cleaned.append(number)
        elif not isinstance(item, str) or not item:
            errors.setdefault(key, []).append(f"The {key} field must be a string.")
        else:
            cleaned.append(item)
    return cleaned


def as_int(value: Any) -> int | None:
    """An integer from an int, a whole float or a decimal string; bools are not integers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    return None


def as_flag(value: Any) -> int | None:
    """0 or 1 from 0/1, true/false or their string forms."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    key = value.strip().lower() if isinstance(value, str) else value
    try:
        return _FLAG_VALUES.get(key)
    except TypeError:  # unhashable (a list or an object)
        return None
