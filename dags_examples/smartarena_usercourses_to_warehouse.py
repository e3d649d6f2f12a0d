"""Learning activity into a warehouse: hourly incremental extraction, nightly reconcile.

What to copy:

* ``smartarena_usercourses_to_warehouse`` runs every hour. It snapshots the dimension tables
  (users, branches, courses) and loads ``/api/usercourses`` incrementally by the ``updated_at``
  watermark into ``smartarena_user_courses``. The watermark lives in the warehouse itself (table
  ``smartarena_extract_state``), committed together with the rows, so a retried or crashed run
  replays the same window and nothing is lost or duplicated.
* ``smartarena_usercourses_reconcile`` runs nightly with ``mode="full_refresh"``: it re-reads
  everything, catching changes the ``updated_at`` filter cannot see, and marks rows that vanished
  from Smart ARENA with ``_deleted_at``.
* Both write the same stream (table and watermark): their writing tasks share the Airflow pool
  ``smartarena_user_courses_stream`` of one slot, so an hourly extraction waits while the nightly
  reconcile runs and the other way round, and the transfer holds the stream's lock in the warehouse
  while it writes (writers the pool does not see wait too).
  Create the pool once: ``airflow pools set smartarena_user_courses_stream 1 "one writer of the
  Smart ARENA activity stream"`` (``make airflow``, ``make demo`` and docker-compose's
  ``airflow-init`` do). Without it the scheduler does not schedule these tasks at all.
* The dimension snapshots use ``mark_deleted=True``: a user, org unit or course deleted in
  Smart ARENA keeps its row with ``_deleted_at`` set, like its activities do after a reconcile.
* Both emit an Asset event for the table, so downstream DAGs can be scheduled on fresh data with
  ``schedule=[USER_COURSES]``.

Connections: ``smartarena_default`` (Smart ARENA) and ``smartarena_warehouse`` (any common-sql
connection: SQLite, PostgreSQL, MySQL/MariaDB, ...). Every DAG here works with and without a
logical date (the watermark, not the run's date, decides what is read).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_smartarena.transfers.resources_to_sql import SmartArenaToSqlOperator
from airflow_provider_smartarena.transfers.usercourses_to_sql import SmartArenaUserCoursesToSqlOperator

WAREHOUSE = "smartarena_warehouse"
USER_COURSES = Asset("smartarena_user_courses")
# One slot, shared by both DAGs' writers, so the scheduler never starts two at once; the transfer's
# stream lock in the warehouse still serialises writers the pool does not see (other deployments).
STREAM_POOL = "smartarena_user_courses_stream"
# Shared by the three DAGs below. No catch-up: the watermark, not the run's date, decides what is read.
DAG_DEFAULTS: dict[str, Any] = {
    "start_date": pendulum.datetime(2026, 1, 1, tz="UTC"),
    "catchup": False,
    "tags": ["smartarena", "warehouse"],
}

with DAG(
    dag_id="smartarena_usercourses_to_warehouse",
    description="Hourly incremental extraction of Smart ARENA learning activity",
    schedule="@hourly",
    # The pool and the stream lock protect the watermark; this only stops a late hour from starting
    # runs whose tasks would just wait for them.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
    **DAG_DEFAULTS,
):
    dimensions = [
        SmartArenaToSqlOperator(
            task_id=f"snapshot_{resource}", resource=resource, sql_conn_id=WAREHOUSE, mark_deleted=True
        )
        for resource in ("users", "branches", "courses")
    ]
    extract = SmartArenaUserCoursesToSqlOperator(
        task_id="extract_usercourses",
        sql_conn_id=WAREHOUSE,
        mode="incremental",
        overlap=pendulum.duration(minutes=10),
        pool=STREAM_POOL,
        outlets=[USER_COURSES],
    )
    dimensions >> extract


with DAG(
    dag_id="smartarena_usercourses_reconcile",
    description="Nightly full refresh: catches what the updated_at filter cannot see",
    schedule="30 2 * * *",
    max_active_runs=1,
    **DAG_DEFAULTS,
):
    SmartArenaUserCoursesToSqlOperator(
        task_id="reconcile_usercourses",
        sql_conn_id=WAREHOUSE,
        mode="full_refresh",
        mark_deleted=True,
        pool=STREAM_POOL,
        outlets=[USER_COURSES],
    )


with DAG(
    dag_id="smartarena_fresh_activity_report",
    description="Runs whenever the extraction has loaded new activity (Asset-scheduled)",
    schedule=[USER_COURSES],
    **DAG_DEFAULTS,
):

    @task
    def report(**context) -> dict:
        """Read what the extraction reported through the Asset event it emitted."""
        events = context["triggering_asset_events"].get(USER_COURSES, [])
        return {"events": len(events), "extra": [dict(e.extra) for e in events]}

    report()
