"""The two transfers as the scripted-platform tests run them: on connection ``scripted``, into a
warehouse namespace, with retries short enough for a platform that fails on purpose.

Shared by the transfer tests (``test_hardening``, ``test_keys_and_types`` ...) and the reliability
suite, which vary only the operator's options.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.transfers import SmartArenaToSqlOperator, SmartArenaUserCoursesToSqlOperator
from tests.transfers.conftest import Warehouse

TABLE = "smartarena_user_courses"
STATE = "smartarena_extract_state"
LOCATIONS = "smartarena_locations"


class QuickOperator(SmartArenaUserCoursesToSqlOperator):
    """The extraction with retries in milliseconds."""

    def get_smartarena_hook(self) -> SmartArenaHook:
        return SmartArenaHook(self.smartarena_conn_id, retry_backoff=0.005, retry_max_wait=0.5)


def extraction(
    warehouse: Warehouse,
    task_id: str = "extract",
    operator: type[SmartArenaUserCoursesToSqlOperator] = QuickOperator,
    smartarena_conn_id: str = "scripted",
    **kwargs: Any,
) -> SmartArenaUserCoursesToSqlOperator:
    """The activities extraction into ``TABLE`` with its state in ``STATE`` of the warehouse."""
    return operator(
        task_id=task_id,
        smartarena_conn_id=smartarena_conn_id,
        sql_conn_id=warehouse.conn_id,
        table=warehouse.name(TABLE),
        state_table=warehouse.name(STATE),
        **kwargs,
    )


def extract(warehouse: Warehouse, **kwargs: Any) -> dict[str, Any]:
    """One run of :func:`extraction`; its summary."""
    summary: dict[str, Any] = extraction(warehouse, **kwargs).execute({})
    return summary


def snapshot(warehouse: Warehouse, table: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """One snapshot of the platform's locations into ``table`` (``LOCATIONS`` of the warehouse)."""
    operator = SmartArenaToSqlOperator(
        task_id="snapshot",
        resource="locations",
        smartarena_conn_id="scripted",
        sql_conn_id=warehouse.conn_id,
        table=table or warehouse.name(LOCATIONS),
        **kwargs,
    )
    summary: dict[str, Any] = operator.execute({})
    return summary
