"""Types for the operators' signatures as type checkers see them (``scripts/gen_operator_stubs.py``).

At runtime an operator's ``__init__`` is generated from :mod:`airflow_provider_smartarena.resources`
(see :func:`airflow_provider_smartarena.operators.base._generated_init`). Type checkers cannot run
that code, so each operator class also carries, under ``TYPE_CHECKING``, an ``__init__`` whose
``**kwargs`` unpack a ``TypedDict`` of the generated :mod:`._fields` module (PEP 692): the record
fields written there, composed with the hand-written arguments below (the action's option, the
arguments every record operator takes, the BaseOperator ones). A misspelt keyword is then none of
them, and mypy reports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal, TypedDict, Unpack

#: A templated field's value: the value itself or a Jinja string rendered at run time.
Text = str
Code = str
Date = str | dt.date
Int = int | str
IntList = Sequence[int | str] | str
CodeList = Sequence[str] | str
Records = list[dict[str, Any]] | dict[str, Any] | str | Any
HookParams = dict[str, Any] | None
IfExists = Literal["fail", "skip", "update"]


class TaskArguments(TypedDict, total=False):
    """BaseOperator's keyword arguments on Airflow 2.11 and 3.x (a test checks the running version's).

    ``task_id`` is left out: the written signatures name it, required. Values are ``Any``: their
    types belong to Airflow and differ between its versions.
    """

    owner: Any
    email: Any
    email_on_retry: Any
    email_on_failure: Any
    retries: Any
    retry_delay: Any
    retry_exponential_backoff: Any
    max_retry_delay: Any
    retry_policy: Any
    start_date: Any
    end_date: Any
    depends_on_past: Any
    ignore_first_depends_on_past: Any
    wait_for_past_depends_before_skipping: Any
    wait_for_downstream: Any
    dag: Any
    params: Any
    default_args: Any
    priority_weight: Any
    weight_rule: Any
    queue: Any
    pool: Any
    pool_slots: Any
    sla: Any
    execution_timeout: Any
    on_execute_callback: Any
    on_failure_callback: Any
    on_success_callback: Any
    on_retry_callback: Any
    on_skipped_callback: Any
    pre_execute: Any
    post_execute: Any
    trigger_rule: Any
    resources: Any
    run_as_user: Any
    map_index_template: Any
    task_concurrency: Any
    max_active_tis_per_dag: Any
    max_active_tis_per_dagrun: Any
    executor: Any
    executor_config: Any
    do_xcom_push: Any
    multiple_outputs: Any
    inlets: Any
    outlets: Any
    task_group: Any
    doc: Any
    doc_md: Any
    doc_json: Any
    doc_yaml: Any
    doc_rst: Any
    task_display_name: Any
    logger_name: Any
    allow_nested_operators: Any
    render_template_as_native_obj: Any


class _RecordOperatorArguments(TypedDict, total=False):
    records: Records
    smartarena_conn_id: str
    max_concurrency: int
    fail_on_error: bool
    hook_params: HookParams


# Bases in the runtime signature's order (the action's option, below, comes first), so that IDEs
# list the keywords as Airflow does.
class OperatorArguments(_RecordOperatorArguments, TaskArguments, total=False):
    """What every record operator takes besides its record fields (see ``SmartArenaRecordOperator``)."""


class _IfExists(TypedDict, total=False):
    if_exists: IfExists


class _MissingOk(TypedDict, total=False):
    missing_ok: bool


class IfExistsArguments(_IfExists, OperatorArguments, total=False):
    """A create operator's arguments besides its record fields."""


class MissingOkArguments(_MissingOk, OperatorArguments, total=False):
    """An update or delete operator's arguments besides its record fields."""


__all__ = ["IfExistsArguments", "MissingOkArguments", "OperatorArguments", "TaskArguments", "Unpack"]
