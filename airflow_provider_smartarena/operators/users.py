"""Operators that create, update, upsert and delete Smart ARENA users (``/api/users``).

Each is a declaration over :class:`~airflow_provider_smartarena.operators.base.SmartArenaRecordOperator`;
the fields, required ones and allowed values come from
:data:`airflow_provider_smartarena.resources.USERS`.
"""

from __future__ import annotations

from airflow_provider_smartarena.operators.base import SmartArenaRecordOperator
from airflow_provider_smartarena.resources import USERS


class SmartArenaCreateUserOperator(SmartArenaRecordOperator):
    """
    Create a Smart ARENA user, e.g.
    ``SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1", user_email="a@b.si", firstname="Ana",
    lastname="Novak", branch_mapping_code="hq", roles=[Role.USER])``.

    ``user_email`` is the user's address (``email`` inside ``records``); ``email=`` is the task's own
    alert address, as for every operator.
    """

    resource = USERS
    action = "create"


class SmartArenaUpdateUserOperator(SmartArenaRecordOperator):
    """
    Update a Smart ARENA user: only the given fields, and only those that differ.

    ``password``, which cannot be compared, is sent whenever it is given.
    """

    resource = USERS
    action = "update"


class SmartArenaUpsertUserOperator(SmartArenaRecordOperator):
    """
    Create a Smart ARENA user, or update the fields that differ if it exists.

    ``password`` and ``register_mail`` are used only when the user is created.
    """

    resource = USERS
    action = "upsert"


class SmartArenaDeleteUserOperator(SmartArenaRecordOperator):
    """Delete a Smart ARENA user (``delete_mode``: 1 partial, 2 full, the API's default)."""

    resource = USERS
    action = "delete"


__all__ = [
    "SmartArenaCreateUserOperator",
    "SmartArenaDeleteUserOperator",
    "SmartArenaUpdateUserOperator",
    "SmartArenaUpsertUserOperator",
]
