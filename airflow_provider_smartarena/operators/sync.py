"""Provisioning: make Smart ARENA's users (and the org units they reference) match an HR source.

:class:`SmartArenaUserSyncOperator` reads the desired users, reads the platform's current state once,
plans (:mod:`._sync_plan`), logs the plan, and applies only the writes the plan needs. Run it again
with the same input and it makes no write calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airflow_provider_smartarena.enums import DeleteMode
from airflow_provider_smartarena.exceptions import SmartArenaInputError, SmartArenaNotFoundError
from airflow_provider_smartarena.operators._sync_plan import (
    ARGUMENT_OF,
    FAILED,
    MODES,
    ORG_RESOURCES,
    STATUSES,
    DeleteThreshold,
    ManagedFilter,
    PlannedAction,
    SourceRow,
    SyncOptions,
    SyncPlan,
    build_plan,
)
from airflow_provider_smartarena.operators._sync_results import DEFAULT_TABLE, check_table_name, write_results
from airflow_provider_smartarena.operators._sync_source import (
    Source,
    clean_rows,
    mask_passwords,
    parse_literal,
    read_list,
    read_path,
    read_sql,
)
from airflow_provider_smartarena.operators.base import DEFAULT_CONN_ID
from airflow_provider_smartarena.resources import RESOURCES, USERS, Resource

if TYPE_CHECKING:
    import jinja2
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

#: How many records the plan log and the failure message list before "... and N more".
_LOG_LIMIT = 100
_ERROR_LIMIT = 20
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", "", "none"})
_PLAN_COLUMNS = ("create", "update", "delete", "unchanged", "protected", "skip", "invalid")


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
    """

    template_fields: Sequence[str] = (
        "users",
        "source_sql",
        "source_conn_id",
        "source_path",
        "field_map",
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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
        self.users = users
        self.source_sql = source_sql
        self.source_conn_id = source_conn_id
        self.source_path = source_path
        self.source_format = source_format
        self.field_map = field_map
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

        return SmartArenaHook(smartarena_conn_id=self.smartarena_conn_id)

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        super().render_template_fields(context, jinja_env)
        # Passwords in users rendered from conf or XCom are masked before anything could print them.
        mask_passwords(self.users)

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
            plan_table(plan),
        )
        if plan.abort_reason:
            raise AirflowException(f"Smart ARENA user sync aborted: {plan.abort_reason}")
        write_calls = 0 if dry_run else self._apply(plan)
        summary = self._summary(plan, options.mode, dry_run, write_calls)
        self.log.info(
            "Smart ARENA user sync %s: %s", "planned" if dry_run else "done", _counts_text(summary["counts"])
        )
        if self.results_conn_id and not dry_run:
            self._write_results(context, plan)
        problems = [a for a in plan.actions if a.status in (FAILED, "invalid")]
        # Skipped deletions fail the task even without fail_on_error: the mirror did not do its job.
        if ((problems and self.fail_on_error) or plan.deletions_skipped) and not dry_run:
            # Pushed before failing, so that a downstream task (trigger_rule="all_done") can read it.
            context["ti"].xcom_push(key="return_value", value=summary)
            raise AirflowException(_failure_message(problems, len(plan.actions), plan.deletions_skipped))
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
            records = read_list(self.users, "users")
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

    # ---------------------------------------------------------------- applying

    def _apply(self, plan: SyncPlan) -> int:
        """Run the plan's writes phase by phase and return how many were sent.

        A record whose dependency (its branch, its parent) failed is not attempted.
        """
        failed: set[tuple[str, str]] = set()
        write_calls = 0
        for phase in plan.phases():
            runnable = []
            for action in phase:
                blocker = next((key for key in action.depends_on if key in failed), None)
                if blocker is None:
                    runnable.append(action)
                else:
                    action.status, action.message = (
                        FAILED,
                        f"not attempted: {blocker[0]} {blocker[1]!r} failed",
                    )
                    failed.add(action.key)
            write_calls += len(runnable)
            outcomes = self.hook.run_concurrently(self._write, runnable, max_workers=self.max_concurrency)
            for action, outcome in zip(runnable, outcomes, strict=True):
                if outcome.error is None:
                    action.status = STATUSES[action.action]
                elif action.action == "delete" and isinstance(outcome.error, SmartArenaNotFoundError):
                    action.status, action.message = STATUSES["delete"], "already gone"
                else:
                    action.status, action.message = FAILED, str(outcome.error)
                    failed.add(action.key)
                    self.log.error(
                        "%s %s %r failed: %s",
                        action.action,
                        action.resource,
                        action.mapping_code,
                        outcome.error,
                    )
        for action in plan.actions:
            if action.status is None:
                action.status = STATUSES[action.action]
        return write_calls

    def _write(self, action: PlannedAction) -> Any:
        resource = RESOURCES[action.resource]
        if action.action == "create":
            return self.hook.create_record(resource, {**action.body, **action.secrets})
        if action.action == "update":
            return self.hook.update_record(resource, action.body)
        extra = {k: v for k, v in action.body.items() if k != "mapping_code"}
        return self.hook.delete_record(resource, action.mapping_code or "", **extra)

    # ---------------------------------------------------------------- reporting

    def _summary(self, plan: SyncPlan, mode: str, dry_run: bool, write_calls: int) -> dict[str, Any]:
        counts: dict[str, dict[str, int]] = {}
        reported = []
        for action in plan.actions:
            status = action.status or ("planned" if action.is_write else STATUSES[action.action])
            per = counts.setdefault(action.resource, {})
            per[status] = per.get(status, 0) + 1
            if status != "unchanged":
                reported.append({**action.to_dict(), "status": status})
        return {
            "mode": mode,
            "dry_run": dry_run,
            "write_calls": write_calls,
            "counts": counts,
            "records": reported[: self.max_reported],
            "records_omitted": max(0, len(reported) - self.max_reported),
            **({"deletions_skipped": plan.deletions_skipped} if plan.deletions_skipped else {}),
        }

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
                a.status,
                ",".join(a.changed_fields) or None,
                a.message,
                at,
            )
            for a in plan.actions
        ]
        write_results(self.results_conn_id, self.results_table, run_id, rows)
        self.log.info("Wrote %d outcome(s) to %s on %r", len(rows), self.results_table, self.results_conn_id)


# ---------------------------------------------------------------------------------------------
# helpers


def plan_table(plan: SyncPlan, limit: int = _LOG_LIMIT) -> str:
    """The plan as text: counts per resource and action, then the records that need attention."""
    counts = plan.counts()
    lines = ["  " + f"{'resource':<10}" + "".join(f"{c:>11}" for c in _PLAN_COLUMNS)]
    for resource, per in counts.items():
        lines.append("  " + f"{resource:<10}" + "".join(f"{per.get(c, 0):>11}" for c in _PLAN_COLUMNS))
    notable = [a for a in plan.actions if a.action != "unchanged"]
    if notable:
        lines.append(f"  Records to act on or look at ({min(len(notable), limit)} of {len(notable)}):")
        lines.extend("    " + _describe(a) for a in notable[:limit])
    if plan.deletions_skipped:
        lines.append(f"  The {plan.deletions_skipped}.")
    if plan.managed_count or plan.delete_limit is not None:
        limit_text = "none" if plan.delete_limit is None else f"{plan.delete_limit:g}"
        lines.append(f"  Managed users on the platform: {plan.managed_count}; deletion limit: {limit_text}")
    return "\n".join(lines)


def _describe(action: PlannedAction) -> str:
    who = action.mapping_code if action.mapping_code is not None else f"(row {action.row})"
    detail = ", ".join(action.changed_fields) if action.changed_fields else (action.message or "")
    if action.row is not None and action.action == "invalid" and action.mapping_code is not None:
        detail = f"row {action.row}: {detail}"
    return f"{action.action:<10} {action.resource:<10} {who:<24} {detail}".rstrip()


def _counts_text(counts: Mapping[str, Mapping[str, int]]) -> str:
    return (
        "; ".join(
            f"{r}: " + ", ".join(f"{n} {s}" for s, n in sorted(per.items())) for r, per in counts.items()
        )
        or "nothing to do"
    )


def _failure_message(problems: Sequence[PlannedAction], total: int, deletions_skipped: str | None) -> str:
    failed = sum(1 for a in problems if a.status == FAILED)
    invalid = len(problems) - failed
    lines = [
        f"Smart ARENA user sync: {failed} failed and {invalid} invalid of {total} record(s);"
        " every other record was applied. All outcomes are in XCom return_value."
    ]
    if deletions_skipped:
        lines.append(f"  The {deletions_skipped}.")
    for action in problems[:_ERROR_LIMIT]:
        who = action.mapping_code if action.mapping_code is not None else f"row {action.row}"
        where = f" (row {action.row})" if action.row is not None and action.mapping_code is not None else ""
        lines.append(f"  {action.status:<8} {action.resource} {who}{where}: {action.message}")
    if len(problems) > _ERROR_LIMIT:
        lines.append(f"  ... and {len(problems) - _ERROR_LIMIT} more")
    return "\n".join(lines)


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
