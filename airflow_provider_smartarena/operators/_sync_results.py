"""Moved to :mod:`airflow_provider_smartarena.sync.results`; this module keeps the old import path working."""

from __future__ import annotations

from airflow_provider_smartarena.sync.results import (
    COLUMNS,
    DEFAULT_TABLE,
    check_table_name,
    write_results,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_TABLE",
    "check_table_name",
    "write_results",
]
