"""Triggered user provisioning: make Smart ARENA match the users an HR system sends.

Trigger it with the users in ``conf`` (UI "Trigger DAG w/ config", the REST API, or
``airflow dags trigger smartarena_user_provisioning --conf '{"users": [...]}'``), or let an HR
export job update the ``hr_users_export`` Asset. Every run plans first (a dry run that writes
nothing and logs create / update / unchanged / protected / invalid per user); it applies the plan
only when ``dry_run`` is false and the plan has no invalid rows.

What to copy: the plan-then-apply pair of ``SmartArenaUserSyncOperator`` tasks and the branch
between them. Users are keyed by ``mapping_code`` (the HR system's id); a second run with the same
input makes no write calls.

Ownership: this DAG owns the users whose mapping code starts with ``ext-`` (and the org unit
``ext-new-hires``); the nightly CSV mirror (``smartarena_user_provisioning_from_csv``) owns ``hr-``
and deletes ``hr-`` users missing from its file, so the two never undo each other's work. A run
whose conf names a user outside ``ext-`` fails before any write (see docs/provisioning.md).
Works with and without a logical date (nothing here reads it).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator

HR_EXPORT = Asset("hr_users_export")
# The mapping codes this DAG manages; distinct from the CSV mirror's "hr-" (see the docstring).
NAMESPACE = "ext-"

EXAMPLE_USERS = [
    {
        "mapping_code": "ext-9001",
        "email": "ana.novak@example.si",
        "firstname": "Ana",
        "lastname": "Novak",
        "branch_mapping_code": "ext-new-hires",
        "roles": [6],
        "language_code": 3,
    }
]

with DAG(
    dag_id="smartarena_user_provisioning",
    description="Sync users from conf or an HR export into Smart ARENA (dry run, then apply)",
    schedule=[HR_EXPORT],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "users": Param(EXAMPLE_USERS, type="array", description="Users as Smart ARENA fields"),
        "dry_run": Param(True, type="boolean", description="Only plan; write nothing"),
    },
    render_template_as_native_obj=True,  # so that {{ params.users }} arrives as a list, not text
    tags=["smartarena", "provisioning"],
):
    plan = SmartArenaUserSyncOperator(
        task_id="plan",
        users="{{ params.users }}",
        create_missing_refs=True,
        dry_run=True,
    )

    @task.branch
    def apply_or_stop(plan: dict, **context) -> str | None:
        """Apply only a clean plan, and only when the run asked for it."""
        outside = [
            str(user.get("mapping_code"))
            for user in context["params"]["users"]
            if not str(user.get("mapping_code", "")).startswith(NAMESPACE)
        ]
        if outside:
            raise ValueError(
                f"users[].mapping_code: {', '.join(outside)} outside this DAG's namespace "
                f"(allowed: codes starting with {NAMESPACE!r}; 'hr-' belongs to the CSV mirror)"
            )
        if context["params"]["dry_run"]:
            return None
        if plan["counts"].get("invalid"):
            raise ValueError(
                f"{plan['counts']['invalid']} invalid users: fix the source, nothing was written"
            )
        return "apply"

    apply = SmartArenaUserSyncOperator(
        task_id="apply",
        users="{{ params.users }}",
        create_missing_refs=True,
    )

    apply_or_stop(plan.output) >> apply
