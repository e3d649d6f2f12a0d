"""Transfers from Smart ARENA into SQL databases: activity extraction and dimension snapshots."""

from __future__ import annotations

from airflow_provider_smartarena.transfers._base import table_asset
from airflow_provider_smartarena.transfers.resources_to_sql import SmartArenaToSqlOperator
from airflow_provider_smartarena.transfers.usercourses_to_sql import SmartArenaUserCoursesToSqlOperator

__all__ = ["SmartArenaToSqlOperator", "SmartArenaUserCoursesToSqlOperator", "table_asset"]
