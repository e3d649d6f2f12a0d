"""Moved to :mod:`airflow_provider_smartarena.sync.plan`; this module keeps the old import path working."""

from __future__ import annotations

from airflow_provider_smartarena.sync.plan import (
    ARGUMENT_OF,
    FAILED,
    MODES,
    STATUSES,
    DeleteThreshold,
    ManagedFilter,
    PlannedAction,
    SourceRow,
    SyncOptions,
    SyncPlan,
    build_plan,
    changed_fields,
    code_key,
)

__all__ = [
    "ARGUMENT_OF",
    "FAILED",
    "MODES",
    "STATUSES",
    "DeleteThreshold",
    "ManagedFilter",
    "PlannedAction",
    "SourceRow",
    "SyncOptions",
    "SyncPlan",
    "build_plan",
    "changed_fields",
    "code_key",
]
