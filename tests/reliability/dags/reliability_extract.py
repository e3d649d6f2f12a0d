"""The extraction as the crash tests run it through Airflow (``airflow tasks test``).

Small batches and one page at a time, so that a SIGKILL lands between, inside and around commits.
Connections: ``smartarena_default`` (the sandbox) and ``reliability_warehouse`` (SQLite).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator

with DAG(
    dag_id="reliability_extract",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["smartarena", "reliability"],
):
    SmartArenaUserCoursesToSqlOperator(
        task_id="extract",
        sql_conn_id="reliability_warehouse",
        batch_size=30,
        max_concurrency=1,
    )
