"""Event-driven: refresh the warehouse when learners do something, then summarise completions by org unit.

What to copy (Airflow 3 only: on Airflow 2 this file defines no DAG, and importing it is harmless):

* ``SMARTARENA_ACTIVITY`` is an Asset watched by :class:`SmartArenaActivityEventTrigger`: the
  triggerer polls ``/api/usercourses`` (one small request a poll, 60 an hour at the default
  interval) and records an asset event once per burst of new activity. The DAG is scheduled on
  that asset, so it runs when learners act, not on the clock, and never when nothing happened.
* ``extract_usercourses`` loads what changed with the incremental extraction (its watermark lives in
  the warehouse, so the runs of this DAG and of the hourly extraction share it safely).
* ``completions_by_org_unit`` summarises completions per organisational unit from the warehouse
  and counts the completions the event reported per unit. It reads the event's payload (mapping
  codes and statuses only, no names or e-mails); a run triggered by hand, without an event (and
  without a logical date), still writes the summary.

Connections: ``smartarena_default`` (Smart ARENA) and ``smartarena_warehouse`` (any common-sql
connection). ``SMARTARENA_EVENTS_POLL_INTERVAL`` (seconds, default 60) sets how often the watcher
polls; a new value re-creates the watcher, which keeps its position (see the trigger's doc).
"""

from __future__ import annotations

import os
from typing import Any

from airflow_provider_smartarena.triggers.events import EVENT_TRIGGERS_SUPPORTED

WAREHOUSE = "smartarena_warehouse"
#: FINISHED, CERTIFIED and CONDITIONS_MET: each means the course was finished.
FINISHED_STATUSES = (2, 3, 4)

if EVENT_TRIGGERS_SUPPORTED:
    import pendulum
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_smartarena.transfers.usercourses_to_sql import SmartArenaUserCoursesToSqlOperator
    from airflow_provider_smartarena.triggers.events import SmartArenaActivityEventTrigger

    SMARTARENA_ACTIVITY = Asset(
        "smartarena_activity",
        watchers=[
            AssetWatcher(
                name="smartarena_activity_watcher",
                trigger=SmartArenaActivityEventTrigger(
                    poll_interval=float(os.environ.get("SMARTARENA_EVENTS_POLL_INTERVAL", "60")),
                ),
            )
        ],
    )
    USER_COURSES = Asset("smartarena_user_courses")

    with DAG(
        dag_id="smartarena_activity_events",
        description="Runs when learners act in Smart ARENA: extract, then completions by org unit",
        schedule=[SMARTARENA_ACTIVITY],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,  # two runs must not move the same watermark at once
        default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=30)},
        tags=["smartarena", "warehouse", "events"],
    ):
        extract = SmartArenaUserCoursesToSqlOperator(
            task_id="extract_usercourses",
            sql_conn_id=WAREHOUSE,
            mode="incremental",
            outlets=[USER_COURSES],
        )

        @task
        def completions_by_org_unit(triggering_asset_events: Any = None) -> dict[str, Any]:
            """Completion rate per org unit, and the completions this run's events reported, per unit."""
            from airflow.sdk import BaseHook

            events = list((triggering_asset_events or {}).get(SMARTARENA_ACTIVITY, []))
            payloads = [dict(event.extra or {}).get("payload") or {} for event in events]
            finished = {
                (c["user_mapping_code"], c["course_mapping_code"])
                for payload in payloads
                for c in payload.get("changes", [])
                if c.get("status") in FINISHED_STATUSES
            }
            hook = BaseHook.get_connection(WAREHOUSE).get_hook()
            done = ", ".join(str(s) for s in FINISHED_STATUSES)
            units = [
                {"org_unit": unit, "enrolments": int(n), "finished": int(f or 0), "rate": round(f / n, 4)}
                for unit, n, f in hook.get_records(
                    "SELECT organizational_unit_mapping_code, COUNT(*),"
                    f" SUM(CASE WHEN status IN ({done}) THEN 1 ELSE 0 END)"
                    " FROM smartarena_user_courses WHERE _deleted_at IS NULL"
                    " GROUP BY organizational_unit_mapping_code ORDER BY organizational_unit_mapping_code"
                )
            ]
            new_by_unit: dict[str, int] = {}
            users = sorted({user for user, _ in finished})
            if users:
                marks = ", ".join([hook.placeholder] * len(users))
                rows = hook.get_records(
                    "SELECT user_mapping_code, course_mapping_code, organizational_unit_mapping_code"
                    f" FROM smartarena_user_courses WHERE user_mapping_code IN ({marks})",
                    parameters=users,
                )
                unit_of = {(u, c): unit for u, c, unit in rows}
                missing = finished - unit_of.keys()
                if missing:
                    # The extraction ran just before: a reported change it did not load is a loss.
                    raise RuntimeError(f"{len(missing)} reported completions are not in the warehouse")
                for key in finished:
                    unit = str(unit_of[key])
                    new_by_unit[unit] = new_by_unit.get(unit, 0) + 1
            summary = {
                "events": len(events),
                "changes_reported": sum(int(p.get("count", 0)) for p in payloads),
                "new_completions_by_org_unit": new_by_unit,
                "org_units": units,
            }
            print(
                f"{summary['events']} event(s), {summary['changes_reported']} change(s) reported;"
                f" new completions by org unit: {new_by_unit or 'none'}"
            )
            return summary

        extract >> completions_by_org_unit()
