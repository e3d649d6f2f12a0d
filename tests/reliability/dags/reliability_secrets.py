"""Tasks that handle every secret the provider touches, for the secrets test (``test_secrets.py``).

Passwords arrive from ``params`` (the test triggers with ``conf``); some tasks fail on purpose, so
that error messages and tracebacks are written to the task logs too. Runs with the example DAGs
through a real executor, whose task runner writes log files.
"""

from __future__ import annotations

import http.client

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.operators.users import (
    SmartArenaCreateUserOperator,
    SmartArenaUpdateUserOperator,
)

with DAG(
    dag_id="reliability_secrets",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"password": Param("", type="string"), "other_password": Param("", type="string")},
    tags=["smartarena", "reliability"],
):
    SmartArenaCreateUserOperator(
        task_id="create_user_with_password",
        mapping_code="sec-user-1",
        user_email="sec.user1@example.com",
        firstname="Sec",
        lastname="User",
        branch_mapping_code="br-001",
        password="{{ params.password }}",
    )

    # Fails (404): the error travels through the operator, the task runner and the log file.
    SmartArenaUpdateUserOperator(
        task_id="update_missing_user_with_password",
        mapping_code="sec-nobody",
        password="{{ params.password }}",
    )

    @task
    def use_the_hook(**context) -> str:
        """What a user's own @task might do with the hook: test it, read a lot, log what it holds."""
        hook = SmartArenaHook()
        _ok, message = hook.test_connection()
        connection = hook.get_connection(hook.smartarena_conn_id)
        print(f"hook={hook!r} settings={hook.settings!r} connection={connection!r}")
        pages = sum(1 for _ in hook.iter_user_course_pages(modules_data=False))
        print(f"read {pages} pages; session headers: {dict(hook.get_conn().headers)}")
        # Someone debugging HTTP: the standard library prints every request, headers and all.
        http.client.HTTPConnection.debuglevel = 1
        try:
            hook.close()
            hook._tokens.clear()  # a token request (client secret in its body) and a call with the token
            hook.get_workplaces()
        finally:
            http.client.HTTPConnection.debuglevel = 0
        return message

    @task
    def fail_inside_a_hook_call(**context) -> None:
        """A duplicate create with a password the operators never saw: the hook raises from a request."""
        hook = SmartArenaHook()
        hook.get_locations()
        hook.create_user(
            "u-00001",
            "someone.else@example.com",
            "Some",
            "One",
            password=context["params"]["other_password"],
        )

    use_the_hook()
    fail_inside_a_hook_call()
