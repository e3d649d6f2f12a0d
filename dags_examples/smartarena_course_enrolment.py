"""Create a course, enrol a group, and wait for each learner to finish it.

What to copy: the operators are idempotent (a retried task neither duplicates the course nor fails
on users already enrolled), and the completion sensors are deferrable, so waiting for learners for
days holds no worker slot (a triggerer polls Smart ARENA instead). Trigger with
``{"course": "onboarding-2026", "learners": ["hr-0001", "hr-0002"]}``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_smartarena.enums import ActivityStatus, CourseType
from airflow_provider_smartarena.operators.courses import (
    SmartArenaAddCourseUsersOperator,
    SmartArenaUpsertCourseOperator,
)
from airflow_provider_smartarena.sensors.activity import SmartArenaCourseCompletionSensor

with DAG(
    dag_id="smartarena_course_enrolment",
    description="Create a course, enrol learners, wait for completions, notify",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "course": Param("onboarding-2026", type="string"),
        "title": Param("Onboarding 2026", type="string"),
        "learners": Param(["hr-0001", "hr-0002", "hr-0003"], type="array"),
    },
    render_template_as_native_obj=True,
    tags=["smartarena", "courses"],
):
    course = SmartArenaUpsertCourseOperator(
        task_id="upsert_course",
        mapping_code="{{ params.course }}",
        title="{{ params.title }}",
        course_start_date="{{ ds }}",
        type=CourseType.E_COURSE,
    )
    enrol = SmartArenaAddCourseUsersOperator(
        task_id="enrol_learners",
        mapping_code="{{ params.course }}",
        users_mapping_codes="{{ params.learners }}",
    )

    @task
    def learners(**context) -> list[str]:
        return list(context["params"]["learners"])

    wait = SmartArenaCourseCompletionSensor.partial(
        task_id="wait_for_completion",
        course_mapping_code="{{ params.course }}",
        min_status=ActivityStatus.FINISHED,
        deferrable=True,
        poke_interval=60,
        timeout=pendulum.duration(days=30).total_seconds(),
    ).expand(user_mapping_code=learners())

    @task(trigger_rule="all_done")
    def notify(activities: list[dict | None]) -> str:
        """Replace with a Slack/e-mail notifier; here the summary is logged and returned."""
        done = [a for a in activities if a]
        message = f"{len(done)} learner(s) finished: " + ", ".join(a["user_mapping_code"] for a in done)
        print(message)
        return message

    course >> enrol >> wait
    notify(wait.output)
