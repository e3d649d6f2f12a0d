"""Run example DAGs through Airflow's own ``dag.test()``, with or without a logical date.

``airflow dags test`` always gives a run a logical date (now, when none is given); Airflow 3's REST
API and CLI triggers give none. ``dag.test(logical_date=None)`` makes the second kind of run
in-process, with the same scheduling loop and in-line triggerer as ``airflow dags test``.

Usage: ``python _run_dags.py PLAN.json`` where PLAN is a list of
``{"dag_id", "logical_date": "2026-11-01T04:00:00+00:00" | null, "conf": {...} | null}``; prints one
``RESULT {json}`` line per run: dag_id, run_id, state, logical_date and the state of every task.
Run it with AIRFLOW_HOME and the connections in the environment.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

STREAM_POOL = "smartarena_user_courses_stream"


def main(plan_path: str) -> int:
    from airflow.models.pool import Pool
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.cli import get_bagged_dag
    from airflow.utils.session import create_session
    from sqlalchemy import select

    # The warehouse example's writers share this pool (make airflow / demo / compose create it too).
    Pool.create_or_update_pool(STREAM_POOL, slots=1, description="test", include_deferred=False)
    with open(plan_path, encoding="utf-8") as handle:
        plan: list[dict[str, Any]] = json.load(handle)
    for item in plan:
        dag = get_bagged_dag(None, item["dag_id"])
        date = item.get("logical_date")
        run = dag.test(
            logical_date=dt.datetime.fromisoformat(date) if date else None, run_conf=item.get("conf")
        )
        with create_session() as session:
            tis = session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id
                )
            ).all()
            tasks: dict[str, list[str]] = {}
            for ti in tis:
                tasks.setdefault(ti.task_id, []).append(getattr(ti.state, "value", str(ti.state)))
        result = {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "state": getattr(run.state, "value", str(run.state)),
            "logical_date": run.logical_date.isoformat() if run.logical_date else None,
            "tasks": tasks,
        }
        print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
