"""Transfers from Smart ARENA into SQL databases: activity extraction and dimension snapshots."""

from __future__ import annotations

from airflow_provider_smartarena.transfers._base import table_asset
from airflow_provider_smartarena.transfers._dialects import SmartArenaTableError
from airflow_provider_smartarena.transfers._loader import SmartArenaLoadError, SmartArenaLockError
from airflow_provider_smartarena.transfers._state import SmartArenaStateError
from airflow_provider_smartarena.transfers.resources_to_sql import SmartArenaToSqlOperator
from airflow_provider_smartarena.transfers.usercourses_to_sql import SmartArenaUserCoursesToSqlOperator

__all__ = [
    "SmartArenaLoadError",
    "SmartArenaLockError",
    "SmartArenaStateError",
    "SmartArenaTableError",
    "SmartArenaToSqlOperator",
    "SmartArenaUserCoursesToSqlOperator",
    "table_asset",
]
