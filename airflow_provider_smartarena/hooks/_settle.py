"""Settling a write whose first attempt may have reached the server before its answer was lost.

A create or a rename retried after a dropped connection, a read timeout or a 5xx may be refused
because the first attempt did take effect. Only then is the platform read back: the write counts
as done when the record holds exactly what was sent. A DELETE whose retry gets 404 has done its job.
The transport calls these with the refusal; each returns the result or raises the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airflow_provider_smartarena.exceptions import (
    SmartArenaError,
    SmartArenaNotFoundError,
    SmartArenaValidationError,
)
from airflow_provider_smartarena.resources import Resource

log = logging.getLogger(__name__)

Read = Callable[[str], "dict[str, Any] | None"]


def settle_create(
    read: Read, res: Resource, params: dict[str, Any], error: SmartArenaError
) -> dict[str, Any]:
    """A duplicate refusal is success if the record read back holds the values sent.

    :param read: reads the record of ``res`` with a mapping code, or None.
    """
    if not isinstance(error, SmartArenaValidationError) or not _is_duplicate(error, res.key):
        raise error
    record = read(params[res.key])
    if record is None or not _holds(record, params, res.comparable):
        raise error
    log.info(
        "%s %s already exists with the values sent: the earlier, interrupted attempt created it",
        res.label,
        params[res.key],
    )
    return {
        "message": f"{res.label} created (confirmed by reading it back after a lost answer).",
        "data": record,
    }


def settle_delete(error: SmartArenaError) -> dict[str, Any]:
    """A 404 means the earlier attempt deleted the record."""
    if not isinstance(error, SmartArenaNotFoundError):
        raise error
    log.info(
        "%s %s: already gone after an interrupted attempt; treating as deleted", error.method, error.path
    )
    return {}


def settle_rename(read_course: Read, old: str, new: str, error: SmartArenaError) -> dict[str, Any]:
    """The rename is done if a course ``new`` exists and ``old`` does not."""
    if not isinstance(error, SmartArenaNotFoundError | SmartArenaValidationError):
        raise error
    renamed = read_course(new)
    if renamed is None or read_course(old) is not None:
        raise error
    log.info("Course %s is already named %s: the earlier, interrupted attempt renamed it", old, new)
    return {
        "message": "Course mapping code updated (confirmed by reading it back after a lost answer).",
        "data": renamed,
    }


def _is_duplicate(error: SmartArenaValidationError, key: str) -> bool:
    text = " ".join([error.message, *error.errors.get(key, [])]).lower()
    return key in error.errors or any(word in text for word in ("taken", "exist", "duplicate", "unique"))


def _holds(record: Mapping[str, Any], sent: Mapping[str, Any], fields: Iterable[str]) -> bool:
    """True when every scalar field we sent and the record shows has the value we sent."""
    compared = 0
    for name in fields:
        value, shown = sent.get(name), record.get(name)
        if value is None or shown is None or isinstance(shown, list | dict) or isinstance(value, list):
            continue
        if str(shown).strip().casefold() != str(value).strip().casefold():
            return False
        compared += 1
    return compared > 0
