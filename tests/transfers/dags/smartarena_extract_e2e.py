"""End-to-end DAG of the Smart ARENA → SQL transfers, for ``airflow dags test`` on the sandbox.

Incremental extraction, a one-day window backfill and a dimension
snapshot into the SQLite connection ``warehouse``; ``check`` compares the tables with the sandbox's
ground truth (``/_sandbox/state``) and reads the extraction's summary from XCom.
Used by ``tests/transfers/test_e2e_dag.py``.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import BaseHook, dag, task

from airflow_provider_smartarena.transfers import (
    SmartArenaToSqlOperator,
    SmartArenaUserCoursesToSqlOperator,
    table_asset,
)


def _ground_truth(resource: str) -> list[dict[str, Any]]:
    host = BaseHook.get_connection("smartarena_default").host
    with urllib.request.urlopen(f"{host}/_sandbox/state?resource={resource}&modules_data=1") as response:
        records: list[dict[str, Any]] = json.loads(response.read())[resource]
    return records


def _rows(sql: str) -> list[tuple[Any, ...]]:
    path = BaseHook.get_connection("warehouse").host
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


@dag(
    dag_id="smartarena_extract_e2e",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
)
def smartarena_extract_e2e() -> None:
    extract = SmartArenaUserCoursesToSqlOperator(task_id="extract", sql_conn_id="warehouse")
    backfill = SmartArenaUserCoursesToSqlOperator(
        task_id="backfill",
        sql_conn_id="warehouse",
        table="usercourses_backfill",
        mode="window",
        # Airflow 3 gives manual runs an empty data interval, so the window is the logical day.
        window_start="{{ ds }}",
        window_end="{{ macros.ds_add(ds, 1) }}",
    )
    users = SmartArenaToSqlOperator(task_id="users", resource="users", sql_conn_id="warehouse")

    @task(inlets=[table_asset("warehouse", "smartarena_user_courses")])
    def check(summary: dict[str, Any], ds: str | None = None) -> None:
        truth = _ground_truth("usercourses")
        assert summary["rows_written"] == len(truth), summary
        stored = _rows(
            "SELECT user_mapping_code, course_mapping_code, updated_at FROM smartarena_user_courses"
        )
        assert sorted(stored) == sorted(
            (r["user_mapping_code"], r["course_mapping_code"], r["updated_at"]) for r in truth
        )
        start = f"{ds} 00:00:00"
        end = pendulum.from_format(start, "YYYY-MM-DD HH:mm:ss").add(days=1).strftime("%Y-%m-%d %H:%M:%S")
        in_window = sorted(
            (r["user_mapping_code"], r["course_mapping_code"])
            for r in truth
            if start <= r["updated_at"] < end
        )
        backfilled = _rows("SELECT user_mapping_code, course_mapping_code FROM usercourses_backfill")
        assert sorted(backfilled) == in_window, (start, end, len(backfilled), len(in_window))
        assert len(_rows("SELECT mapping_code FROM smartarena_users")) == len(_ground_truth("users"))

    done = check(extract.output)
    [backfill, users] >> done


smartarena_extract_e2e()
