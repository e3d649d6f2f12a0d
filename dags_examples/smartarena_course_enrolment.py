"""Create a course, enrol a group, and wait for each learner to finish it.

What to copy: the operators are idempotent (a retried task neither duplicates the course nor fails
on users already enrolled), and the completion sensors are deferrable, so waiting for learners for
days holds no worker slot (a triggerer polls Smart ARENA instead). Trigger with
``{"course": "onboarding-2026", "learners": ["learn-0001", "learn-0002"]}``, or with no conf.

Depends on: only the ``smartarena_default`` connection. The DAG is self-sufficient: ``ensure_learners``
creates the org unit ``learn-demo`` and the learners it owns (mapping codes starting with ``learn-``)
when they are missing, and fails, naming them, when any other learner does not exist (it never
creates or changes people another system owns). On the local sandbox started with ``--live`` (as
``make airflow`` and docker-compose do) the learners finish on their own within minutes.

Works with and without a logical date (Airflow 3's REST API and CLI trigger runs without one): the
course starts on the run's logical date, or on the day it was triggered. The run fails when any
learner's work failed: ``notify`` reports whatever happened, and the all-success leaf
``all_learners_finished`` makes the run's state follow the work.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param, task

from airflow_provider_smartarena.enums import ActivityStatus, CourseType, Role
from airflow_provider_smartarena.operators.courses import (
    SmartArenaAddCourseUsersOperator,
    SmartArenaUpsertCourseOperator,
)
from airflow_provider_smartarena.sensors.activity import SmartArenaCourseCompletionSensor

# The people and the org unit this DAG may create; anyone else must exist already.
OWNED_PREFIX = "learn-"
BRANCH = "learn-demo"

with DAG(
    dag_id="smartarena_course_enrolment",
    description="Create a course, enrol learners, wait for completions, notify",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "course": Param("onboarding-2026", type="string"),
        "title": Param("Onboarding 2026", type="string"),
        "learners": Param(["learn-0001", "learn-0002", "learn-0003"], type="array", minItems=1),
    },
    render_template_as_native_obj=True,
    tags=["smartarena", "courses"],
):

    @task
    def ensure_learners(**context: Any) -> list[str]:
        """Create the org unit and the missing learners this DAG owns; fail on missing others."""
        from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

        learners = [str(code) for code in context["params"]["learners"]]
        hook = SmartArenaHook()
        try:
            missing = [code for code in learners if hook.get_user(code) is None]
            foreign = [code for code in missing if not code.startswith(OWNED_PREFIX)]
            if foreign:
                raise ValueError(
                    f"learners: {', '.join(foreign)} do not exist in Smart ARENA; this DAG creates only "
                    f"learners whose mapping code starts with {OWNED_PREFIX!r}"
                )
            if missing and hook.get_branch(BRANCH) is None:
                hook.create_branch(BRANCH, parent_mapping_code="root", name="Learning demo")
            for code in missing:
                hook.create_user(
                    code,
                    f"{code}@example.com",
                    "Demo",
                    f"Learner {code.removeprefix(OWNED_PREFIX)}",
                    branch_mapping_code=BRANCH,
                    roles=[Role.USER],
                )
        finally:
            hook.close()
        print(f"{len(learners)} learner(s) ready, {len(missing)} created: {', '.join(missing) or '-'}")
        return learners

    course = SmartArenaUpsertCourseOperator(
        task_id="upsert_course",
        mapping_code="{{ params.course }}",
        title="{{ params.title }}",
        # Runs triggered from the REST API or the CLI have no logical date ({{ ds }} is undefined).
        course_start_date="{{ (dag_run.logical_date or dag_run.run_after) | ds }}",
        type=CourseType.E_COURSE,
    )
    learners = ensure_learners()
    enrol = SmartArenaAddCourseUsersOperator(
        task_id="enrol_learners",
        mapping_code="{{ params.course }}",
        users_mapping_codes=learners,
    )

    wait = SmartArenaCourseCompletionSensor.partial(
        task_id="wait_for_completion",
        course_mapping_code="{{ params.course }}",
        min_status=ActivityStatus.FINISHED,
        deferrable=True,
        poke_interval=30,
        timeout=pendulum.duration(days=30).total_seconds(),
    ).expand(user_mapping_code=learners)

    @task(trigger_rule="all_done")
    def notify(activities: list[dict[str, Any] | None]) -> str:
        """Replace with a Slack/e-mail notifier; here the summary is logged and returned.

        It runs whatever happened upstream (``all_done``), so it must not decide the run's state:
        ``all_learners_finished`` below does.
        """
        done = [a for a in activities if a]
        message = f"{len(done)} learner(s) finished: " + ", ".join(a["user_mapping_code"] for a in done)
        print(message)
        return message

    # An all-success leaf: a failed enrolment or sensor makes it upstream_failed, and with it the
    # run failed, although the reporting task above succeeded.
    all_learners_finished = EmptyOperator(task_id="all_learners_finished")

    [course, learners] >> enrol >> wait
    notify(wait.output)
    wait >> all_learners_finished
