"""Operators for the organisation's structure: branches (organisational units), locations,
workplaces and qualification groups.

Each is a declaration over :class:`~airflow_provider_smartarena.operators.base.SmartArenaRecordOperator`;
the fields, required ones and allowed values come from :mod:`airflow_provider_smartarena.resources`.
Branches and qualification groups form trees (``parent_mapping_code``): in a list of ``records``,
parents are applied before their children, and deleted after them.
"""

from __future__ import annotations

from airflow_provider_smartarena.operators.base import SmartArenaRecordOperator
from airflow_provider_smartarena.resources import BRANCHES, LOCATIONS, QUALIFICATIONS, WORKPLACES


class SmartArenaCreateBranchOperator(SmartArenaRecordOperator):
    """Create an organisational unit (branch) under ``parent_mapping_code``."""

    resource = BRANCHES
    action = "create"


class SmartArenaUpdateBranchOperator(SmartArenaRecordOperator):
    """Rename or move an organisational unit (branch); only fields that differ are sent."""

    resource = BRANCHES
    action = "update"


class SmartArenaUpsertBranchOperator(SmartArenaRecordOperator):
    """Create an organisational unit (branch), or update the fields that differ if it exists."""

    resource = BRANCHES
    action = "upsert"


class SmartArenaDeleteBranchOperator(SmartArenaRecordOperator):
    """Delete an organisational unit (branch)."""

    resource = BRANCHES
    action = "delete"


class SmartArenaCreateLocationOperator(SmartArenaRecordOperator):
    """Create a location."""

    resource = LOCATIONS
    action = "create"


class SmartArenaUpdateLocationOperator(SmartArenaRecordOperator):
    """Rename a location (sent only if the name differs)."""

    resource = LOCATIONS
    action = "update"


class SmartArenaUpsertLocationOperator(SmartArenaRecordOperator):
    """Create a location, or rename it if it exists with another name."""

    resource = LOCATIONS
    action = "upsert"


class SmartArenaDeleteLocationOperator(SmartArenaRecordOperator):
    """Delete a location."""

    resource = LOCATIONS
    action = "delete"


class SmartArenaCreateWorkplaceOperator(SmartArenaRecordOperator):
    """Create a workplace."""

    resource = WORKPLACES
    action = "create"


class SmartArenaUpdateWorkplaceOperator(SmartArenaRecordOperator):
    """Rename a workplace (sent only if the name differs)."""

    resource = WORKPLACES
    action = "update"


class SmartArenaUpsertWorkplaceOperator(SmartArenaRecordOperator):
    """Create a workplace, or rename it if it exists with another name."""

    resource = WORKPLACES
    action = "upsert"


class SmartArenaDeleteWorkplaceOperator(SmartArenaRecordOperator):
    """Delete a workplace."""

    resource = WORKPLACES
    action = "delete"


class SmartArenaCreateQualificationOperator(SmartArenaRecordOperator):
    """Create a qualification group under ``parent_mapping_code``."""

    resource = QUALIFICATIONS
    action = "create"


class SmartArenaUpdateQualificationOperator(SmartArenaRecordOperator):
    """Rename or move a qualification group; only fields that differ are sent."""

    resource = QUALIFICATIONS
    action = "update"


class SmartArenaUpsertQualificationOperator(SmartArenaRecordOperator):
    """Create a qualification group, or update the fields that differ if it exists."""

    resource = QUALIFICATIONS
    action = "upsert"


class SmartArenaDeleteQualificationOperator(SmartArenaRecordOperator):
    """Delete a qualification group."""

    resource = QUALIFICATIONS
    action = "delete"


__all__ = [
    "SmartArenaCreateBranchOperator",
    "SmartArenaCreateLocationOperator",
    "SmartArenaCreateQualificationOperator",
    "SmartArenaCreateWorkplaceOperator",
    "SmartArenaDeleteBranchOperator",
    "SmartArenaDeleteLocationOperator",
    "SmartArenaDeleteQualificationOperator",
    "SmartArenaDeleteWorkplaceOperator",
    "SmartArenaUpdateBranchOperator",
    "SmartArenaUpdateLocationOperator",
    "SmartArenaUpdateQualificationOperator",
    "SmartArenaUpdateWorkplaceOperator",
    "SmartArenaUpsertBranchOperator",
    "SmartArenaUpsertLocationOperator",
    "SmartArenaUpsertQualificationOperator",
    "SmartArenaUpsertWorkplaceOperator",
]
