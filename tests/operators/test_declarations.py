"""The operator classes as declared: fields from resources.py, arguments, templating, mapping, parsing."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_smartarena.enums import Role
from airflow_provider_smartarena.operators.base import SmartArenaRecordOperator
from airflow_provider_smartarena.operators.courses import (
    SmartArenaAddCourseUsersOperator,
    SmartArenaCreateCourseOperator,
    SmartArenaRenameCourseOperator,
    SmartArenaUpdateCourseOperator,
)
from airflow_provider_smartarena.operators.org import SmartArenaUpsertBranchOperator
from airflow_provider_smartarena.operators.users import (
    SmartArenaCreateUserOperator,
    SmartArenaDeleteUserOperator,
    SmartArenaUpdateUserOperator,
)
from airflow_provider_smartarena.resources import RESOURCES

DAGS = Path(__file__).parent.parent / "dags"
MODULES = {"user": "users", "course": "courses"}
ACTIONS = ("create", "update", "upsert", "delete")


def _class(resource: str, action: str) -> type[SmartArenaRecordOperator]:
    module = importlib.import_module(f"airflow_provider_smartarena.operators.{MODULES.get(resource, 'org')}")
    return getattr(module, f"SmartArena{action.title()}{resource.title()}Operator")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_every_operator_is_declared_from_resources(resource: str, action: str) -> None:
    cls = _class(resource, action)
    res = RESOURCES[resource]
    endpoint = {"create": res.create, "update": res.update, "upsert": res.create, "delete": res.delete}[
        action
    ]
    assert cls.resource is res
    assert cls.action == action
    assert cls.record_fields == endpoint.field_names
    # Every record field is templated, except secrets; the docstring names them all.
    templated = {cls.field_attributes[f.name] for f in endpoint.fields if not f.secret}
    assert templated <= set(cls.template_fields)
    assert "records" in cls.template_fields
    assert "password" not in cls.template_fields
    assert cls.__doc__
    for name in endpoint.field_names:
        assert f":param {cls.field_attributes[name]}:" in cls.__doc__
    # Airflow reads accepted arguments from the signature (default_args, partial, expand): every
    # record field under its keyword name; the names of BaseOperator arguments stay the task's.
    params = inspect.signature(cls.__init__).parameters
    assert {cls.field_attributes[n] for n in endpoint.field_names} <= set(params)
    assert not {"email", "start_date", "end_date"} & set(params)


def test_required_fields_are_marked_in_the_docs() -> None:
    doc = SmartArenaCreateUserOperator.__doc__ or ""
    assert ":param firstname: **Required.**" in doc
    assert ":param user_email: **Required.**" in doc
    assert "``email=`` is the task's own BaseOperator argument" in doc
    assert ":param if_exists:" in doc
    assert ":param missing_ok:" in (SmartArenaDeleteUserOperator.__doc__ or "")


def test_record_fields_are_keyword_arguments_named_as_the_api() -> None:
    op = SmartArenaCreateUserOperator(
        task_id="u",
        mapping_code="e-1",
        user_email="a@b.si",
        firstname="Ana",
        lastname="Novak",
        branch_mapping_code="hq",
        roles=[Role.USER],
    )
    assert op.operator_fields() == {
        "mapping_code": "e-1",
        "email": "a@b.si",
        "firstname": "Ana",
        "lastname": "Novak",
        "branch_mapping_code": "hq",
        "roles": [Role.USER],
    }
    assert op.user_email == "a@b.si"
    assert op.email is None  # the task's alert address is untouched
    assert op.if_exists == "fail"
    assert op.smartarena_conn_id == "smartarena_default"


def test_unknown_keyword_fails_at_parse_time_naming_it_and_the_allowed_fields() -> None:
    with pytest.raises(TypeError, match=r"unknown argument 'emial'\. Did you mean 'user_email'\?.*firstname"):
        SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1", emial="a@b.si")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="does not take 'missing_ok'"):
        SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1", missing_ok=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="does not take 'if_exists'"):
        SmartArenaUpdateUserOperator(task_id="u", mapping_code="e-1", if_exists="skip")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="if_exists must be one of"):
        SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1", if_exists="replace")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown argument 'title'"):
        SmartArenaRenameCourseOperator(task_id="r", old_mapping_code="a", new_mapping_code="b", title="x")  # type: ignore[call-arg]


def test_values_are_not_validated_at_parse_time() -> None:
    # Templated strings (and wrong values) parse; they are checked at execute.
    op = SmartArenaCreateUserOperator(
        task_id="u", mapping_code="{{ params.code }}", roles="{{ params.roles }}"
    )
    assert op.roles == "{{ params.roles }}"
    SmartArenaCreateUserOperator(task_id="u2", roles=[999], date_of_birth="not a date")


def test_fields_named_like_task_arguments() -> None:
    default_args = {"email": "alerts@example.com", "start_date": pendulum.datetime(2025, 1, 1, tz="UTC")}
    with DAG("clash", schedule=None, default_args=default_args):
        user = SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1", user_email="ana@example.com")
        course = SmartArenaCreateCourseOperator(
            task_id="c",
            mapping_code="c-1",
            title="T",
            course_start_date="{{ ds }}",
            course_end_date=dt.date(2025, 12, 31),
        )
        defaults_only = SmartArenaCreateUserOperator(task_id="u2", mapping_code="e-2")
        # Given explicitly, email= is the task's alert address too: no value comparison decides.
        alert = SmartArenaUpdateUserOperator(task_id="u3", mapping_code="e-3", email="ops@example.com")
    assert (alert.email, alert.user_email) == ("ops@example.com", None)
    assert (user.user_email, user.email) == ("ana@example.com", "alerts@example.com")
    assert course.course_start_date == "{{ ds }}"
    assert course.course_end_date == dt.date(2025, 12, 31)
    assert course.start_date == pendulum.datetime(2025, 1, 1, tz="UTC")  # the task's own
    # DAG defaults are the task's, never the record's.
    assert defaults_only.user_email is None
    assert defaults_only.email == "alerts@example.com"


def test_default_args_fill_record_fields_and_options() -> None:
    with DAG(
        "defaults", schedule=None, default_args={"smartarena_conn_id": "other", "branch_mapping_code": "hq"}
    ):
        op = SmartArenaCreateUserOperator(task_id="u", mapping_code="e-1")
    assert op.smartarena_conn_id == "other"
    assert op.branch_mapping_code == "hq"


def test_partial_expand_and_expand_kwargs() -> None:
    default_args = {"email": "alerts@example.com"}
    start = pendulum.datetime(2025, 1, 1, tz="UTC")
    with DAG("mapped", schedule=None, start_date=start, default_args=default_args):
        by_records = SmartArenaCreateUserOperator.partial(
            task_id="by_records", if_exists="skip", branch_mapping_code="hq"
        ).expand(records=[{"mapping_code": "a"}, {"mapping_code": "b"}])
        by_kwargs = SmartArenaUpsertBranchOperator.partial(task_id="by_kwargs").expand_kwargs(
            [{"mapping_code": "x", "parent_mapping_code": "root", "name": "X"}]
        )
        courses = SmartArenaCreateCourseOperator.partial(task_id="courses").expand(
            records=[{"mapping_code": "c", "title": "T", "start_date": "2025-02-01"}]
        )
        course_kwargs = SmartArenaCreateCourseOperator.partial(task_id="course_kwargs").expand_kwargs(
            [{"mapping_code": "c", "title": "T", "course_start_date": "2025-02-01"}]
        )
        with pytest.raises(TypeError, match="unexpected keyword argument 'emial'"):
            SmartArenaCreateUserOperator.partial(task_id="bad", emial="x")

    # What the task runner builds for one map index.
    user_op: Any = by_records.unmap({"records": {"mapping_code": "a"}})
    assert user_op.records == {"mapping_code": "a"}
    assert user_op.if_exists == "skip"
    assert user_op.branch_mapping_code == "hq"
    assert user_op.user_email is None  # the DAG's alert address did not become the user's
    branch_op: Any = by_kwargs.unmap({"mapping_code": "x", "parent_mapping_code": "root", "name": "X"})
    assert branch_op.operator_fields() == {"mapping_code": "x", "parent_mapping_code": "root", "name": "X"}
    course_op: Any = courses.unmap(
        {"records": {"mapping_code": "c", "title": "T", "start_date": "2025-02-01"}}
    )
    assert course_op.course_start_date is None  # the task's start_date (a datetime) stayed the task's
    assert course_op.start_date == start
    by_kwargs_op: Any = course_kwargs.unmap(
        {"mapping_code": "c", "title": "T", "course_start_date": "2025-02-01"}
    )
    assert by_kwargs_op.course_start_date == "2025-02-01"


@pytest.mark.parametrize(
    ("make", "keyword"),
    [
        (
            lambda: SmartArenaCreateCourseOperator(task_id="c", mapping_code="c", start_date="2025-03-01"),
            "course_start_date",
        ),
        (
            lambda: SmartArenaUpdateCourseOperator(task_id="c", mapping_code="c", end_date="{{ ds }}"),
            "course_end_date",
        ),
        (lambda: SmartArenaCreateUserOperator(task_id="u", mapping_code="e", email="a@b.si"), "user_email"),
    ],
)
def test_the_ambiguous_spelling_fails_naming_the_keyword_to_use(make: Any, keyword: str) -> None:
    with pytest.raises(TypeError, match=rf"is the task's own BaseOperator argument.*as {keyword}="):
        make()


def test_enrolment_and_rename_fields() -> None:
    op = SmartArenaAddCourseUsersOperator(task_id="a", mapping_code="c", users_mapping_codes=["u1"])
    assert op.template_fields == ("records", "mapping_code", "users_mapping_codes")
    assert op.template_fields_renderers["users_mapping_codes"] == "json"
    rename = SmartArenaRenameCourseOperator(task_id="r", old_mapping_code="a", new_mapping_code="b")
    assert rename.operator_fields() == {"old_mapping_code": "a", "new_mapping_code": "b"}


def test_base_operator_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        SmartArenaRecordOperator(task_id="x")


def test_password_never_reaches_the_rendered_templates() -> None:
    try:
        from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields
    except ImportError:  # Airflow 2: what RenderedTaskInstanceFields stores (serialized, redacted)
        from airflow.models.renderedtifields import get_serialized_template_fields
        from airflow.providers.common.compat.sdk import redact

        def _serialize_rendered_fields(task: Any) -> dict[str, Any]:
            fields = get_serialized_template_fields(task=task)
            return {name: redact(value, name) for name, value in fields.items()}

    secret = "Sup3r-Secret-Pw"
    op = SmartArenaCreateUserOperator(
        task_id="u",
        mapping_code="{{ params.code }}",
        password=secret,
        records=[{"mapping_code": "x", "password": secret}],
    )
    op.render_template_fields({"params": {"code": "e-1"}})
    assert op.mapping_code == "e-1"
    rendered = _serialize_rendered_fields(op)
    assert "password" not in rendered
    assert secret not in repr(rendered)


def test_example_dag_parses_without_import_errors() -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    dag = bag.dags["smartarena_operators_e2e"]
    assert dag.get_task("course").course_start_date == "{{ ds }}"
    assert dag.get_task("wait_for_completion").deferrable
