"""End-to-end DAG of the Smart ARENA operators and sensors, for ``airflow dags test`` on the sandbox.

It builds an organisation (a branch tree, locations, workplaces, a qualification group, users in
them), creates a course and enrols the users, lets the sandbox simulate learning until one user has
finished, waits for that with the deferrable completion sensor, renames the course and deletes
everything it made. ``check_*`` tasks read the sandbox's ground truth (``/_sandbox/state``) to prove
each stage. Run twice, the second run must find nothing left over and make no duplicate.

Used by ``tests/operators/test_e2e_dag.py``; the connection ``smartarena_default`` points at the
sandbox (its host is also where the admin API lives).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import BaseHook, TriggerRule, dag, task

from airflow_provider_smartarena.enums import ActivityStatus, CourseType, DeleteMode, Language, Role
from airflow_provider_smartarena.operators.courses import (
    SmartArenaAddCourseUsersOperator,
    SmartArenaDeleteCourseOperator,
    SmartArenaRemoveCourseUsersOperator,
    SmartArenaRenameCourseOperator,
    SmartArenaUpsertCourseOperator,
)
from airflow_provider_smartarena.operators.org import (
    SmartArenaCreateWorkplaceOperator,
    SmartArenaDeleteBranchOperator,
    SmartArenaDeleteLocationOperator,
    SmartArenaDeleteQualificationOperator,
    SmartArenaDeleteWorkplaceOperator,
    SmartArenaUpsertBranchOperator,
    SmartArenaUpsertLocationOperator,
    SmartArenaUpsertQualificationOperator,
)
from airflow_provider_smartarena.operators.users import (
    SmartArenaCreateUserOperator,
    SmartArenaDeleteUserOperator,
    SmartArenaUpsertUserOperator,
)
from airflow_provider_smartarena.sensors.activity import (
    SmartArenaActivitySensor,
    SmartArenaCourseCompletionSensor,
)

DRAFT_COURSE, COURSE = "e2e-course-draft", "e2e-course"
LEARNER, OTHER = "e2e-ana", "e2e-bor"
BRANCHES = [
    # Children first on purpose: the operator orders a tree parent-first.
    {"mapping_code": "e2e-sales", "parent_mapping_code": "e2e-hq", "name": "E2E Sales"},
    {"mapping_code": "e2e-dev", "parent_mapping_code": "e2e-hq", "name": "E2E Development"},
    {"mapping_code": "e2e-hq", "parent_mapping_code": "{{ params.root_branch }}", "name": "E2E Headquarters"},
]
LOCATIONS = [{"mapping_code": "e2e-lj", "name": "Ljubljana"}, {"mapping_code": "e2e-mb", "name": "Maribor"}]
WORKPLACES = [
    {"mapping_code": "e2e-eng", "name": "Engineer"},
    {"mapping_code": "e2e-rep", "name": "Sales rep"},
]
USERS: list[dict[str, Any]] = [
    {
        "mapping_code": LEARNER,
        "email": "ana.e2e@example.com",
        "firstname": "Ana",
        "lastname": "Novak",
        "branch_mapping_code": "e2e-dev",
        "location_mapping_code": "e2e-lj",
        "workplace_mapping_code": "e2e-eng",
        "date_of_birth": "1990-05-17",
        "roles": [Role.USER, Role.HR_MANAGER],
        "language_code": Language.SLOVENIAN,
    },
    {
        "mapping_code": OTHER,
        "email": "bor.e2e@example.com",
        "firstname": "Bor",
        "lastname": "Kralj",
        "branch_mapping_code": "e2e-sales",
        "location_mapping_code": "e2e-mb",
        "workplace_mapping_code": "e2e-rep",
    },
]
CODES: dict[str, list[str]] = {
    "branches": [b["mapping_code"] for b in BRANCHES],
    "locations": [r["mapping_code"] for r in LOCATIONS],
    "workplaces": [r["mapping_code"] for r in WORKPLACES],
    "qualifications": ["e2e-qual"],
    "users": [u["mapping_code"] for u in USERS],
}


def _keys(resource: str) -> list[dict[str, str]]:
    return [{"mapping_code": code} for code in CODES[resource]]


def _admin(path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the sandbox admin API, which lives next to the API on the connection's host."""
    host = (BaseHook.get_connection("smartarena_default").host or "").rstrip("/")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{host}/_sandbox/{path}",
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _activity(user: str, course: str) -> dict[str, Any] | None:
    state = _admin("state?resource=usercourses&modules_data=0")["usercourses"]
    return next(
        (a for a in state if a["user_mapping_code"] == user and a["course_mapping_code"] == course), None
    )


def _codes(resource: str) -> list[str]:
    return [r["mapping_code"] for r in _admin(f"state?resource={resource}")[resource]]


@dag(
    dag_id="smartarena_operators_e2e",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"root_branch": "root", "root_qualification": "root"},
    default_args={"retries": 0},
    tags=["smartarena", "e2e"],
)
def smartarena_operators_e2e() -> None:
    branches = SmartArenaUpsertBranchOperator(task_id="branches", records=BRANCHES)
    # Dynamic task mapping, both ways: one mapped task per record.
    locations = SmartArenaUpsertLocationOperator.partial(task_id="locations").expand_kwargs(LOCATIONS)
    workplaces = SmartArenaCreateWorkplaceOperator.partial(task_id="workplaces", if_exists="skip").expand(
        records=WORKPLACES
    )
    qualification = SmartArenaUpsertQualificationOperator(
        task_id="qualification",
        mapping_code="e2e-qual",
        parent_mapping_code="{{ params.root_qualification }}",
        name="E2E qualification ({{ dag.dag_id }})",
    )
    users = SmartArenaUpsertUserOperator(task_id="users", records=USERS, password="{{ run_id }}-initial")
    # Re-applying the same record is a no-op: it reports "unchanged" and sends nothing.
    users_again = SmartArenaCreateUserOperator(task_id="users_again", records=USERS, if_exists="update")
    course = SmartArenaUpsertCourseOperator(
        task_id="course",
        mapping_code=DRAFT_COURSE,
        title="E2E onboarding",
        course_start_date="{{ ds }}",  # the course's start_date (start_date= is the task's own)
        type=CourseType.E_COURSE,
    )
    enrol = SmartArenaAddCourseUsersOperator(
        task_id="enrol", mapping_code=DRAFT_COURSE, users_mapping_codes=[LEARNER, OTHER]
    )

    @task
    def check_built(ti: Any = None, ds: str | None = None) -> None:
        for resource, codes in CODES.items():
            present = _codes(resource)
            for code in codes:
                assert present.count(code) == 1, f"{resource} {code}: {present.count(code)} copies"
        truth = {u["mapping_code"]: u for u in _admin("state?resource=users")["users"]}
        assert truth[LEARNER]["branch_mapping_code"] == "e2e-dev"
        assert sorted(truth[LEARNER]["roles"]) == [4, 6]
        assert truth[LEARNER]["has_password"] == 1
        tree = {
            b["mapping_code"]: b["parent_mapping_code"] for b in _admin("state?resource=branches")["branches"]
        }
        assert tree["e2e-sales"] == tree["e2e-dev"] == "e2e-hq"
        courses = [
            c for c in _admin("state?resource=courses")["courses"] if c["mapping_code"] == DRAFT_COURSE
        ]
        assert len(courses) == 1
        assert sorted(courses[0]["users"]) == sorted([LEARNER, OTHER])
        assert courses[0]["start_date"] == ds
        again = ti.xcom_pull(task_ids="users_again")
        assert again["counts"] == {"unchanged": len(USERS)}, again["counts"]

    @task
    def simulate_learning() -> None:
        """Tick the sandbox until the learner has started; finish the course once the sensor waits.

        The finishing happens in a thread of this process while the completion sensor is deferred:
        ``airflow dags test`` runs tasks and triggers in one process, so the sensor's trigger really
        polls while the learner progresses. The thread starts ticking only after the sensor's first
        check has reached the sandbox (its request count moves), so the sensor always defers first.
        Learning is random in the sandbox, so it is ticked until the learner's activity gets there.
        """
        for _ in range(500):
            activity = _activity(LEARNER, DRAFT_COURSE)
            if activity is not None and activity["status"] >= ActivityStatus.STARTED:
                break
            _admin("tick", {"changes": 1, "advance_seconds": 1})
        else:
            raise AssertionError("the learner never started")
        route = "GET /api/usercourses"
        checks_before = _admin("stats")["by_route"].get(route, 0)

        def finish() -> None:
            deadline = time.monotonic() + 60
            while _admin("stats")["by_route"].get(route, 0) <= checks_before and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)
            for _ in range(2000):
                activity = _activity(LEARNER, DRAFT_COURSE)
                if activity is not None and activity["status"] >= ActivityStatus.FINISHED:
                    return
                _admin("tick", {"changes": 1, "advance_seconds": 1})

        threading.Thread(target=finish, name="e2e-learner", daemon=True).start()

    wait = SmartArenaCourseCompletionSensor(
        task_id="wait_for_completion",
        user_mapping_code=LEARNER,
        course_mapping_code=DRAFT_COURSE,
        min_status=ActivityStatus.FINISHED,
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )
    activity_seen = SmartArenaActivitySensor(
        task_id="activity_seen",
        updated_after="{{ dag_run.start_date }}",
        user_mapping_code=LEARNER,
        mode="reschedule",
        poke_interval=1,
        timeout=60,
    )
    rename = SmartArenaRenameCourseOperator(
        task_id="rename", old_mapping_code=DRAFT_COURSE, new_mapping_code=COURSE
    )
    rename_again = SmartArenaRenameCourseOperator(
        task_id="rename_again", old_mapping_code=DRAFT_COURSE, new_mapping_code=COURSE
    )

    @task
    def check_renamed(ti: Any = None) -> None:
        codes = _codes("courses")
        assert COURSE in codes, codes
        assert DRAFT_COURSE not in codes, codes
        assert ti.xcom_pull(task_ids="rename")["action"] == "updated"
        assert ti.xcom_pull(task_ids="rename_again")["action"] == "skipped"
        finished = ti.xcom_pull(task_ids="wait_for_completion")
        assert finished["user_mapping_code"] == LEARNER
        assert finished["status"] >= ActivityStatus.FINISHED
        assert ti.xcom_pull(task_ids="activity_seen")["count"] >= 1

    done = TriggerRule.ALL_DONE  # tear down even when a step failed, so that re-runs start clean
    unenrol = SmartArenaRemoveCourseUsersOperator(
        task_id="unenrol", mapping_code=COURSE, users_mapping_codes=[OTHER], trigger_rule=done
    )
    delete_course = SmartArenaDeleteCourseOperator(
        task_id="delete_course",
        records=[{"mapping_code": COURSE}, {"mapping_code": DRAFT_COURSE}],
        delete_mode=DeleteMode.FULL,
        missing_ok=True,
        trigger_rule=done,
    )
    delete_users = SmartArenaDeleteUserOperator(
        task_id="delete_users", records=_keys("users"), missing_ok=True, trigger_rule=done
    )
    delete_qualification = SmartArenaDeleteQualificationOperator(
        task_id="delete_qualification", mapping_code="e2e-qual", missing_ok=True, trigger_rule=done
    )
    delete_workplaces = SmartArenaDeleteWorkplaceOperator(
        task_id="delete_workplaces", records=_keys("workplaces"), missing_ok=True, trigger_rule=done
    )
    delete_locations = SmartArenaDeleteLocationOperator(
        task_id="delete_locations", records=_keys("locations"), missing_ok=True, trigger_rule=done
    )
    delete_branches = SmartArenaDeleteBranchOperator(
        task_id="delete_branches", records=_keys("branches"), missing_ok=True, trigger_rule=done
    )

    @task(trigger_rule=done)
    def check_clean() -> None:
        for resource, codes in {**CODES, "courses": [COURSE, DRAFT_COURSE]}.items():
            left = set(codes) & set(_codes(resource))
            assert not left, f"{resource} left behind: {sorted(left)}"

    built = check_built()
    branches >> [locations, workplaces, qualification] >> users >> users_again >> course >> enrol >> built
    learning = simulate_learning()
    built >> learning >> wait >> activity_seen >> rename >> rename_again >> check_renamed()
    rename_again >> unenrol >> delete_course >> delete_users
    (
        delete_users
        >> [delete_qualification, delete_workplaces, delete_locations]
        >> delete_branches
        >> check_clean()
    )


smartarena_operators_e2e()
