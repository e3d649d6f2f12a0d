"""A provisioning DAG triggered with ``conf``, for ``airflow dags test`` on the sandbox.

``conf`` carries ``users`` (and optionally ``dry_run``); the sync renders them from templates, the
way a DAG triggered through the REST API or by an HR export would. ``report`` runs even when the
sync fails and prints the summary the sync pushed to XCom, so the test can check both.
"""

from __future__ import annotations

import json
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import TriggerRule, dag, task

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator


@dag(
    dag_id="smartarena_sync_e2e",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"dry_run": False},
)
def smartarena_sync_e2e() -> None:
    sync = SmartArenaUserSyncOperator(
        task_id="sync",
        users="{{ dag_run.conf['users'] }}",
        dry_run="{{ dag_run.conf.get('dry_run', params.dry_run) }}",
        create_missing_refs=True,
    )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(summary: dict[str, Any] | None) -> None:
        print("SYNC SUMMARY " + json.dumps(summary, sort_keys=True))

    report(sync.output)


smartarena_sync_e2e()
