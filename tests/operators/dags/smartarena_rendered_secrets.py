"""Records with passwords rendered from ``conf`` by every kind of operator, for ``airflow dags test``.

``conf`` carries ``users`` (one record operator), ``mapped`` (a mapped record operator, one list of
records per map index) and ``sync_users`` (the sync). The test then reads the metadata table
``rendered_task_instance_fields``: no password may be stored there.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.operators.users import (
    SmartArenaCreateUserOperator,
    SmartArenaUpsertUserOperator,
)


@dag(
    dag_id="smartarena_rendered_secrets",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
)
def smartarena_rendered_secrets() -> None:
    # Rendered to text (the DAG does not render native objects): the password is inside a string.
    SmartArenaCreateUserOperator(task_id="create_from_conf", records="{{ dag_run.conf['users'] }}")

    # One record given field by field, the password from conf too (kept out of template_fields).
    SmartArenaUpsertUserOperator(
        task_id="upsert_one",
        mapping_code="{{ dag_run.conf['one']['mapping_code'] }}",
        user_email="{{ dag_run.conf['one']['email'] }}",
        firstname="One",
        lastname="Record",
        password="{{ dag_run.conf['one']['password'] }}",
    )

    @task
    def split(dag_run: Any = None) -> list[list[dict[str, Any]]]:
        # ``dag_run`` is filled in from the task's context.
        return [[record] for record in dag_run.conf.get("mapped", [])]

    # Mapped: each map index renders its own records (Airflow sets them with setattr, without the
    # operator's render_template_fields).
    SmartArenaCreateUserOperator.partial(task_id="create_mapped").expand(records=split())

    SmartArenaUserSyncOperator(task_id="sync", users="{{ dag_run.conf['sync_users'] }}")


smartarena_rendered_secrets()
