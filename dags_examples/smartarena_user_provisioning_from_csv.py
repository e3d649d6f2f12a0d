"""Scheduled user provisioning from an HR export file (CSV).

Every night the users in ``data/hr_users.csv`` and the org units in ``data/hr_branches.csv`` are
mirrored into Smart ARENA: new people are created, changed ones updated (only the changed fields),
and people who left the file are deleted — but only users this sync manages (mapping codes
starting with ``hr-``), never ``synch_protected`` ones, and not at all if more than 10% of the
managed users would go (a broken export must not empty the platform).

Ownership: this DAG owns the ``hr-`` namespace only; users created by other DAGs or people (the
conf-triggered ``smartarena_user_provisioning`` owns ``ext-``, the enrolment example ``learn-``)
are never touched, however long they are absent from the file. See docs/provisioning.md.

What to copy: ``source_path`` (a local path or any ObjectStoragePath URL such as ``s3://...``),
``managed_filter`` and ``max_deletes``. Swap ``source_path`` for ``source_sql`` +
``source_conn_id`` to read the HR database directly.

Works with and without a logical date (nothing here reads it).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator

DATA = Path(__file__).parent / "data"

with DAG(
    dag_id="smartarena_user_provisioning_from_csv",
    description="Mirror the HR export (CSV) into Smart ARENA users and org units",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["smartarena", "provisioning"],
):

    @task
    def read_org_units() -> list[dict[str, str]]:
        """Org units of the export, parent first as the file lists them (the sync orders them too)."""
        with (DATA / "hr_branches.csv").open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    SmartArenaUserSyncOperator(
        task_id="sync_users",
        source_path=str(DATA / "hr_users.csv"),
        branches=read_org_units(),
        create_missing_refs=True,
        mode="mirror",
        managed_filter="hr-",
        max_deletes="10%",
    )
