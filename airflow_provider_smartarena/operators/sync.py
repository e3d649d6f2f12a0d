"""Provisioning: make Smart ARENA's users (and the org units they reference) match an HR source.

:class:`SmartArenaUserSyncOperator` reads the desired users, reads the platform's current state once,
plans, logs the plan, and applies only the writes the plan needs. Run it again with the same input
and it makes no write calls. The work is done by :mod:`airflow_provider_smartarena.sync` (source,
plan, apply, report, results); this module holds the operator's arguments and the order of steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, mask_secret

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.enums import DeleteMode
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.hook_params import checked_hook_params
from airflow_provider_smartarena.records import SecretRecords
from airflow_provider_smartarena.resources import RESOURCES, USERS, Resource
from airflow_provider_smartarena.sync import report
from airflow_provider_smartarena.sync.apply import apply_plan
from airflow_provider_smartarena.sync.plan import (
    ARGUMENT_OF,
    FAILED,
    MODES,
    ORG_RESOURCES,
    DeleteThreshold,
    ManagedFilter,
    SourceRow,
    SyncOptions,
    SyncPlan,
    build_plan,
)
from airflow_provider_smartarena.sync.report import plan_table as plan_table  # re-exported
from airflow_provider_smartarena.sync.results import DEFAULT_TABLE, check_table_name, write_results
from airflow_provider_smartarena.sync.source import (
    Source,
    clean_rows,
    parse_literal,
    read_list,
    read_path,
    read_sql,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", "", "none"})


class SmartArenaUserSyncOperator(BaseOperator):
    """
    Make Smart ARENA's users match a source of truth (an HR export), safely and idempotently.

    The desired users come from exactly one of ``users``, ``source_sql`` or ``source_path``. Columns
    map to API fields by name (``field_map`` renames; columns that match no field are dropped and
    logged). Empty values mean "not set": such fields are neither sent nor compared, so a sync never
    clears a value on the platform. Roles may be a list or text such as ``"4;6"``, ``"4,6"``,
    ``"[4, 6]"``, or role names.

    **Plan, then apply.** The platform's current users are read with one list call (plus one per
    org resource that is given, or that a planned write references), and every row is diffed
    against them and validated with the API model: *create*, *update* (only the fields that
    differ), *unchanged*, *delete* (mirror), *protected* (``synch_protected=1`` on the platform:
    never changed nor deleted), *skip* (excluded by the mode) or *invalid* (reported with the field
    and the reason, never sent). The plan is logged as a table; ``dry_run`` stops there. Writes run
    with bounded concurrency: branches parent-first, org units before the users that reference
    them; one failing record does not stop the others (records depending on it are reported
    failed, not attempted). With unchanged input a second run makes no write calls, and a rerun
    after a crash finishes the job without duplicates, because the plan is always computed from
    the platform's current state, not from a previous run.

    **Org units.** ``branches``, ``locations`` and ``workplaces`` are upserted first (never deleted;
    the mode applies to users only). A ref that a user (or a branch's parent) names but that neither
    exists nor is given is created with ``create_missing_refs=True`` (name = mapping_code; branches
    under ``root_branch_mapping_code``, by default the platform's single parentless branch);
    otherwise the rows naming it are invalid.

    **Secrets.** Passwords are sent only when a user is created (``set_password_on_create``), never
    compared, logged, returned or rendered; each is registered with Airflow's secrets masker as soon
    as it is read. ``register_mail`` applies only to creation (a ``register_mail`` column overrides
    the argument per row).

    **Result.** The task returns (XCom ``return_value``) a summary::

        {"mode": "upsert", "dry_run": False, "write_calls": 3,
         "counts": {"user": {"created": 1, "updated": 1, "unchanged": 9998, ...}, "branch": {...}},
         "records": [{"resource": "user", "mapping_code": "e-7", "action": "update",
                      "status": "updated", "changed_fields": ["email"]}, ...],
         "records_omitted": 0}

    ``records`` lists every record that is not ``unchanged`` (no values, no secrets), at most
    ``max_reported`` of them (``records_omitted`` counts the rest), so that XCom stays small for a
    large, quiet sync. In a dry run, writes have the status ``planned``. With ``results_conn_id``,
    every record's outcome (unchanged ones too) is also written to ``results_table``.
    With ``fail_on_error`` the task fails at the end, after everything else was applied, if any
    record failed or was invalid, with a summary of the first problems; the summary dict is pushed
    to XCom ``return_value`` first. A mirror sync over ``max_deletes`` fails before writing.

    :param users: the desired users: a list of dicts keyed by API field (or source column), or its
        JSON / Python-literal text, e.g. ``"{{ dag_run.conf['users'] }}"`` or an upstream task's
        ``.output``. (templated)
    :param source_sql: a query whose rows are the desired users; column names are field names.
        A value ending in ``.sql`` is read as a template file. (templated)
    :param source_conn_id: with ``source_sql``, any common-sql connection (required); with
        ``source_path``, an optional object-storage connection for the URL. (templated)
    :param source_path: a CSV (``,``, ``;``, tab or ``|`` separated, with a header; UTF-8, BOM
        allowed), JSON lines or JSON array file: a local path or an ObjectStoragePath URL such as
        ``s3://aws_default@bucket/hr/users.csv``. (templated)
    :param source_format: ``csv``, ``jsonl`` or ``json``; by default taken from the file's suffix.
    :param field_map: ``{source column: API field}``; map a column to ``None`` to drop it quietly.
        (templated)
    :param branches: org units to upsert: dicts with ``mapping_code``, ``parent_mapping_code``,
        ``name`` (or their text). (templated)
    :param locations: locations to upsert: dicts with ``mapping_code``, ``name``. (templated)
    :param workplaces: workplaces to upsert: dicts with ``mapping_code``, ``name``. (templated)
    :param create_missing_refs: create branches, locations and workplaces that rows reference but
        that do not exist, named after their mapping_code. (templated)
    :param root_branch_mapping_code: the parent of branches created as missing refs; by default
        the platform's single branch without a parent.
    :param mode: ``upsert`` (default), ``create_only``, ``update_only`` or ``mirror`` (upsert, and
        delete managed users missing from the source). (templated)
    :param managed_filter: which platform users this sync owns, required by ``mirror``: a
        mapping_code prefix (``"hr-"`` or ``{"prefix": "hr-"}``) or a regular expression that must
        match the whole mapping_code (``{"regex": "hr-[0-9]+"}``). Users outside it are never
        deleted. Callables are not accepted: they cannot be templated or serialised. (templated)
    :param delete_mode: how mirror deletes: ``1``/``"partial"`` (deactivate) or ``2``/``"full"``;
        default the API's (full). (templated)
    :param max_deletes: abort, before writing anything, when mirror would delete more users than
        this: a count (``50``) or a share of the managed users (``"10%"``, the default); ``None``
        for no limit. (templated)
    :param set_password_on_create: send a row's ``password`` when the user is created.
    :param register_mail: send the registration e-mail on creation (0/1, bool); default the API's.
    :param dry_run: plan and log only; write nothing. Also ``"true"``/``"false"`` text, e.g.
        ``"{{ params.dry_run }}"``. Kept in the attribute ``sync_dry_run``, as BaseOperator has a
        ``dry_run()`` method. (templated)
    :param max_concurrency: writes in flight at once.
    :param fail_on_error: fail the task at the end if any record failed or was invalid (a dry run
        never fails for a record: its summary lists them).
    :param results_conn_id: a common-sql connection to record each record's outcome in.
    :param results_table: the table for those outcomes, created if missing (one row per record per
        run; a retry of the run replaces its rows). (templated)
    :param max_reported: the most records listed in the returned summary.
    :param smartarena_conn_id: the Smart ARENA connection.
    :param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}`` (the
        keys of ``SmartArenaHook.hook_param_names()``); checked when the task is declared.
    """

    #: Passwords of rendered users never stay in the attribute, so never reach the stored rendered
    #: template fields (see :class:`~airflow_provider_smartarena.records.SecretRecords`).
    users = SecretRecords(lambda op: op.password_columns(), on_hidden=lambda v: mask_secret(str(v)))

    # field_map renders before users: it names the columns that hold a password.
    template_fields: Sequence[str] = (
        "field_map",
        "users",
        "source_sql",
        "source_conn_id",
        "source_path",
        "branches",
        "locations",
        "workplaces",
        "create_missing_refs",
        "mode",
        "managed_filter",
        "delete_mode",
        "max_deletes",
        "sync_dry_run",
        "results_table",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "users": "json",
        "source_sql": "sql",
        "field_map": "json",
        "branches": "json",
        "locations": "json",
        "workplaces": "json",
        "managed_filter": "json",
    }
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        users: list[dict[str, Any]] | str | None = None,
        source_sql: str | None = None,
        source_conn_id: str | None = None,
        source_path: str | None = None,
        source_format: str | None = None,
        field_map: dict[str, str | None] | None = None,
        branches: list[dict[str, Any]] | str | None = None,
        locations: list[dict[str, Any]] | str | None = None,
        workplaces: list[dict[str, Any]] | str | None = None,
        create_missing_refs: bool | str = False,
        root_branch_mapping_code: str | None = None,
        mode: str = "upsert",
        managed_filter: str | dict[str, str] | None = None,
        delete_mode: int | str | None = None,
        max_deletes: int | str | None = "10%",
        set_password_on_create: bool = True,
        register_mail: bool | int | None = None,
        dry_run: bool | str = False,
        max_concurrency: int = 8,
        fail_on_error: bool = True,
        results_conn_id: str | None = None,
        results_table: str = DEFAULT_TABLE,
        max_reported: int = 1000,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.hook_params = checked_hook_params(hook_params)
        given = [
            name
            for name, value in (("users", users), ("source_sql", source_sql), ("source_path", source_path))
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"{type(self).__name__}: give exactly one source of users "
                f"(users, source_sql or source_path), got {', '.join(given) or 'none'}"
            )
        if source_sql is not None and not source_conn_id:
            raise ValueError(
                f"{type(self).__name__}: source_sql needs source_conn_id (a common-sql connection)"
            )
        if max_concurrency < 1:
            raise ValueError(
                f"{type(self).__name__}: max_concurrency must be at least 1, got {max_concurrency}"
            )
        self.field_map = field_map  # before users: it names the password columns
        self.users = users
        self.source_sql = source_sql
        self.source_conn_id = source_conn_id
        self.source_path = source_path
        self.source_format = source_format
        self.branches = branches
        self.locations = locations
        self.workplaces = workplaces
        self.create_missing_refs = create_missing_refs
        self.root_branch_mapping_code = root_branch_mapping_code
        self.mode = mode
        self.managed_filter = managed_filter
        self.delete_mode = delete_mode
        self.max_deletes = max_deletes
        self.set_password_on_create = set_password_on_create
        self.register_mail = register_mail
        # BaseOperator has a dry_run() method of its own; the argument lives in another attribute.
        self.sync_dry_run = dry_run
        self.max_concurrency = max_concurrency
        self.fail_on_error = fail_on_error
        self.results_conn_id = results_conn_id
        self.results_table = results_table
        self.max_reported = max_reported
        self.smartarena_conn_id = smartarena_conn_id

    @cached_property
    def hook(self) -> SmartArenaHook:
        from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

        return SmartArenaHook.for_task(self.smartarena_conn_id, self.hook_params)

    def password_columns(self) -> frozenset[str]:
        """The fields of ``users`` that hold a password: ``password`` and columns mapped to it."""
        mapped = getattr(self, "field_map", None)
        if not isinstance(mapped, Mapping):
            return frozenset({"password"})
        return frozenset({"password", *(str(column) for column, f in mapped.items() if f == "password")})

    # ---------------------------------------------------------------- execute

    def execute(self, context: Context) -> dict[str, Any]:
        dry_run = _as_bool(self.sync_dry_run, "dry_run")
        options = self._options()
        if self.results_conn_id:
            check_table_name(self.results_table)  # now, not after the writes
        source = self._read_users()
        org = {resource.name: self._read_org(resource) for resource in ORG_RESOURCES}
        # Users and the given org resources first; the org lists that writes reference, if any, next.
        current = self._read_current([USERS, *(r for r in ORG_RESOURCES if org[r.name])])
        plan = build_plan(source.rows, current, options, org)
        if plan.unread:
            current.update(self._read_current([RESOURCES[name] for name in sorted(plan.unread)]))
            plan = build_plan(source.rows, current, options, org)
        self.log.info(
            "Smart ARENA user sync plan (mode %s%s):\n%s",
            options.mode,
            ", dry run" if dry_run else "",
            report.plan_table(plan),
        )
        if plan.abort_reason:
            raise AirflowException(f"Smart ARENA user sync aborted: {plan.abort_reason}")
        write_calls = 0 if dry_run else apply_plan(self.hook, plan, self.max_concurrency, self.log)
        summary = report.summary(plan, options.mode, dry_run, write_calls, self.max_reported)
        self.log.info(
            "Smart ARENA user sync %s: %s",
            "planned" if dry_run else "done",
            report.counts_text(summary["counts"]),
        )
        if self.results_conn_id and not dry_run:
            self._write_results(context, plan)
        problems = [a for a in plan.actions if a.status in (FAILED, "invalid")]
        # Skipped deletions fail the task even without fail_on_error: the mirror did not do its job.
        if ((problems and self.fail_on_error) or plan.deletions_skipped) and not dry_run:
            # Pushed before failing, so that a downstream task (trigger_rule="all_done") can read it.
            context["ti"].xcom_push(key="return_value", value=summary)
            raise AirflowException(
                report.failure_message(problems, len(plan.actions), plan.deletions_skipped)
            )
        return summary

    def _options(self) -> SyncOptions:
        """Check every setting before anything is read or written."""
        try:
            delete_mode = None if _unset(self.delete_mode) else int(DeleteMode.coerce(self.delete_mode))
            register_mail = (
                USERS.create.field("register_mail").convert(self.register_mail, self.hook.timezone)
                if self.register_mail is not None
                else None
            )
            return SyncOptions(
                mode=str(self.mode).strip().lower(),
                managed_filter=ManagedFilter.parse(parse_literal(self.managed_filter, "managed_filter")),
                delete_mode=delete_mode,
                max_deletes=None if _unset(self.max_deletes) else DeleteThreshold.parse(self.max_deletes),
                create_missing_refs=_as_bool(self.create_missing_refs, "create_missing_refs"),
                root_branch_mapping_code=self.root_branch_mapping_code or None,
                set_password_on_create=self.set_password_on_create,
                register_mail=register_mail,
                timezone=self.hook.timezone,
            )
        except (ValueError, SmartArenaInputError) as err:
            raise AirflowException(f"{type(self).__name__}: {err}") from None

    # ---------------------------------------------------------------- reading

    def _read_users(self) -> Source:
        if self.source_sql is not None:
            assert self.source_conn_id is not None
            self.log.info("Reading desired users with SQL from connection %r", self.source_conn_id)
            records: Iterable[tuple[int, Any]] = read_sql(self.source_conn_id, self.source_sql)
        elif self.source_path is not None:
            self.log.info("Reading desired users from %s", self.source_path)
            records = read_path(self.source_path, self.source_format, self.source_conn_id)
        else:
            records = read_list(type(self).users.revealed(self), "users")
        source = clean_rows(records, USERS.create.field_names, self.field_map)
        self.log.info("Read %d desired user row(s)", len(source.rows))
        if source.ignored_columns:
            self.log.warning(
                "Ignoring column(s) that match no user field: %s (rename them with field_map, "
                "or map them to None to silence this)",
                ", ".join(sorted(source.ignored_columns)),
            )
        return source

    def _read_org(self, resource: Resource) -> list[SourceRow]:
        name = ARGUMENT_OF[resource.name]
        source = clean_rows(read_list(getattr(self, name), name), resource.create.field_names)
        if source.ignored_columns:
            self.log.warning(
                "Ignoring %s field(s) the API does not have: %s",
                name,
                ", ".join(sorted(source.ignored_columns)),
            )
        return source.rows

    def _read_current(self, resources: Sequence[Resource]) -> dict[str, list[dict[str, Any]]]:
        """Every record of each resource, one listing each, read concurrently."""
        outcomes = self.hook.run_concurrently(self.hook.list_records, resources, max_workers=len(resources))
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
        current = {
            resource.name: outcome.result for resource, outcome in zip(resources, outcomes, strict=True)
        }
        self.log.info(
            "Read the platform's %s", ", ".join(f"{k} records: {len(v)}" for k, v in current.items())
        )
        return current

    def _write_results(self, context: Context, plan: SyncPlan) -> None:
        assert self.results_conn_id is not None
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        run_id = str(context.get("run_id") or "manual")
        rows = [
            (
                run_id,
                a.resource,
                a.mapping_code,
                a.row,
                a.action,
                str(a.status),
                ",".join(a.changed_fields) or None,
                a.message,
                at,
            )
            for a in plan.actions
        ]
        write_results(self.results_conn_id, self.results_table, run_id, rows)
        self.log.info("Wrote %d outcome(s) to %s on %r", len(rows), self.results_table, self.results_conn_id)


# ---------------------------------------------------------------------------------------------
# argument parsing


def _unset(value: Any) -> bool:
    """None, or what a template renders None or an empty value to."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


def _as_bool(value: Any, name: str) -> bool:
    """A templated flag: a bool, or text such as "true" / "False" / "0" that a template renders to."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AirflowException(f"{name}: expected true or false, got {value!r}")


__all__ = ["MODES", "SmartArenaUserSyncOperator"]
