"""The shared base of the Smart ARENA record operators, and the record-handling mechanism.

Every operator in this package applies one kind of record to one API call: it takes the record's
fields as keyword arguments named as the API names them (or a list of such records in
``records``), validates them with the call's :class:`~airflow_provider_smartarena.resources.Endpoint`
before any request, applies them idempotently, and returns what it did.

A concrete operator is a declaration. For the create / update / upsert / delete family::

    class SmartArenaCreateUserOperator(SmartArenaRecordOperator):
        \"\"\"Create a Smart ARENA user.\"\"\"

        resource = USERS
        action = "create"

and :meth:`SmartArenaRecordOperator.__init_subclass__` derives everything else from
:mod:`airflow_provider_smartarena.resources`: the accepted keyword arguments (so that the Airflow UI,
``partial()`` and ``expand()`` know them), the template fields, the required fields and allowed
values, and a generated section of the class docstring. Operators for other calls set ``endpoint``
instead and override :meth:`SmartArenaRecordOperator.apply_record`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, mask_secret

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.enums import DeleteMode
from airflow_provider_smartarena.exceptions import (
    SmartArenaError,
    SmartArenaInputError,
    SmartArenaNotFoundError,
    SmartArenaValidationError,
)
from airflow_provider_smartarena.hook_params import checked_hook_params
from airflow_provider_smartarena.records import (
    Outcome,
    SecretRecords,
    changed_fields,
    parse_records,
    record_outcome,
)
from airflow_provider_smartarena.records import (
    normalise as normalise,  # re-exported: it was defined here
)
from airflow_provider_smartarena.resources import Endpoint, Field, Resource

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

Action = Literal["create", "update", "upsert", "delete"]
IfExists = Literal["fail", "skip", "update"]

# The outcome names, kept importable from here where they used to be defined.
CREATED = Outcome.CREATED
UPDATED = Outcome.UPDATED
UNCHANGED = Outcome.UNCHANGED
DELETED = Outcome.DELETED
SKIPPED = Outcome.SKIPPED
FAILED = Outcome.FAILED
#: Former names of what now lives in :mod:`airflow_provider_smartarena.records`.
result = record_outcome
_parse_records = parse_records
_soft_deleted = DeleteMode.soft_deleted

#: Which call of a resource each action validates against (upsert: the create call's fields, but
#: only the key is required up front, because the other required fields matter only if it creates).
_ACTION_ENDPOINTS: dict[str, Callable[[Resource], Endpoint]] = {
    "create": lambda r: r.create,
    "update": lambda r: r.update,
    "upsert": lambda r: replace(r.create, required=r.update.required),
    "delete": lambda r: r.delete,
}

#: Options that only make sense for some actions, with their defaults.
_ACTION_OPTIONS: dict[str, dict[str, Any]] = {
    "create": {"if_exists": "fail"},
    "update": {"missing_ok": False},
    "upsert": {},
    "delete": {"missing_ok": False},
}
_IF_EXISTS = ("fail", "skip", "update")
_VERBS = {"create": "Creating", "update": "Updating", "upsert": "Upserting", "delete": "Deleting"}


def _task_argument_names() -> frozenset[str]:
    """BaseOperator's own keyword arguments (task_id, retries, start_date, email ...).

    Keyword-only on Airflow 3, positional-or-keyword on Airflow 2.
    """
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = inspect.signature(BaseOperator.__init__).parameters.values()
    return frozenset(p.name for p in params if p.kind in named and p.name != "self")


TASK_ARGUMENTS = _task_argument_names()


#: Record fields that share their name with a BaseOperator argument (of Airflow 2.11 or 3.x): the
#: user's ``email``, a course's ``start_date`` / ``end_date``. As keyword arguments those names are
#: always the task's (alert address, scheduling dates); the record's field is
#: ``<resource>_<field>`` (``user_email``, ``course_start_date``) or the field inside ``records``.
#: Fixed rather than computed, so that keyword names do not change with the Airflow version.
FIELDS_NAMED_LIKE_TASK_ARGUMENTS = frozenset({"email", "start_date", "end_date"})
#: The task arguments among them that only ever take a datetime: any other value is a record field
#: given under the task's name.
_DATETIME_TASK_ARGUMENTS = frozenset({"start_date", "end_date"})


def _field_attribute(resource_name: str, field_name: str) -> str:
    """The keyword argument and attribute of a record field (see ``FIELDS_NAMED_LIKE_TASK_ARGUMENTS``)."""
    if field_name in FIELDS_NAMED_LIKE_TASK_ARGUMENTS:
        return f"{resource_name}_{field_name}"
    if field_name in TASK_ARGUMENTS:
        # A new Airflow version added an argument named like a record field: the keyword would be
        # ambiguous. Fail at import, loudly, rather than guess which one a DAG means.
        raise TypeError(
            f"record field {field_name!r} of {resource_name} is named like a BaseOperator argument;"
            " add it to FIELDS_NAMED_LIKE_TASK_ARGUMENTS and regenerate the signatures"
        )
    return field_name


def _renderer(fld: Field) -> str | None:
    return "json" if fld.kind in ("enum_list", "code_list") else None


@dataclass
class _Item:
    """One record of a run: its position, key, validated values, and what happened to it."""

    index: int
    key: str | None
    values: dict[str, Any]
    outcome: dict[str, Any] | None = None
    error: BaseException | None = None


class SmartArenaRecordOperator(BaseOperator):
    """
    Base of the operators that apply Smart ARENA records; not used directly.

    The record's fields are keyword arguments named as the API names them (see each operator's
    list), every one of them templated. Instead of (or in addition to) them, ``records`` takes a
    list of records to apply in one task; fields given as keyword arguments then act as defaults
    shared by every record. Everything is validated at the start of ``execute``, before any request.

    One record (no ``records``): the task returns ``{"mapping_code", "action", "record",
    "changed_fields"}`` and fails on error. A list of records: each record's outcome is reported;
    one failing record does not stop the others; the task returns ``{"results": [...], "counts":
    {action: n}, "total": n}`` and, with ``fail_on_error``, fails at the end with a summary (the
    results are then pushed to XCom under the key ``results``). ``password`` and other secret fields
    are never rendered in the UI and never returned.

    :param records: records to apply, a list of dicts keyed by field name (one dict means one
        record, as with keyword arguments). (templated)
    :param smartarena_conn_id: the Smart ARENA connection.
    :param max_concurrency: how many records of a list are applied at the same time.
    :param fail_on_error: fail the task at the end if any record of a list failed.
    :param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}`` (the
        keys of ``SmartArenaHook.hook_param_names()``); checked when the task is declared.
    """

    #: The call whose parameters are this operator's record fields; set by subclasses.
    endpoint: ClassVar[Endpoint | None] = None
    #: For the create/update/upsert/delete family: the resource and what to do with it.
    resource: ClassVar[Resource | None] = None
    action: ClassVar[Action | None] = None
    #: The field that identifies a record in results and error messages.
    key_field: ClassVar[str] = "mapping_code"
    #: The record fields, in the API's order, and the operator attribute that holds each.
    record_fields: ClassVar[tuple[str, ...]] = ()
    field_attributes: ClassVar[dict[str, str]] = {}
    #: Action-specific options this operator accepts, with defaults.
    options: ClassVar[dict[str, Any]] = {}
    #: What a record is called in logs and messages when there is no ``resource``, and what is done.
    label: ClassVar[str] = "record"
    verb: ClassVar[str] = "Applying"

    #: Secret fields of rendered records never stay in the attribute, so never reach the stored
    #: rendered template fields; ``execute`` reads them back with ``records.revealed``.
    records = SecretRecords(lambda op: op.secret_field_names(), on_hidden=lambda v: mask_secret(str(v)))

    template_fields: Sequence[str] = ("records",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"records": "json"}
    ui_color = "#e8f1fb"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declares_crud = "resource" in cls.__dict__ or "action" in cls.__dict__
        if declares_crud:
            if cls.resource is None or cls.action not in _ACTION_ENDPOINTS:
                raise TypeError(
                    f"{cls.__name__}: set both resource and action (one of {list(_ACTION_ENDPOINTS)})"
                )
            cls.endpoint = _ACTION_ENDPOINTS[cls.action](cls.resource)
            cls.options = dict(_ACTION_OPTIONS[cls.action])
            cls.verb = _VERBS[cls.action]
        if declares_crud or "endpoint" in cls.__dict__:
            cls._declare_fields()

    @classmethod
    def _declare_fields(cls) -> None:
        """Derive the keyword arguments, template fields and docs from ``cls.endpoint``."""
        endpoint = cls.endpoint
        assert endpoint is not None
        prefix = cls.resource.name if cls.resource is not None else "record"
        cls.record_fields = endpoint.field_names
        cls.field_attributes = {f.name: _field_attribute(prefix, f.name) for f in endpoint.fields}
        visible = [f for f in endpoint.fields if not f.secret]
        cls.template_fields = ("records", *(cls.field_attributes[f.name] for f in visible))
        cls.template_fields_renderers = {
            "records": "json",
            **{cls.field_attributes[f.name]: r for f in visible if (r := _renderer(f))},
        }
        cls.__init__ = _generated_init(cls)  # type: ignore[method-assign]
        cls.__doc__ = (inspect.cleandoc(cls.__doc__ or "") + "\n\n" + cls._fields_doc()).strip()

    @classmethod
    def _fields_doc(cls) -> str:
        endpoint = cls.endpoint
        assert endpoint is not None
        lines = [
            f"Record fields (``{endpoint.method} {endpoint.path}``), derived from "
            ":mod:`airflow_provider_smartarena.resources`:",
            "",
        ]
        for fld in endpoint.fields:
            attr = cls.field_attributes[fld.name]
            where = (
                f" The API's ``{fld.name}`` (so named in ``records``); ``{fld.name}=`` is the task's own"
                " BaseOperator argument."
                if attr != fld.name
                else ""
            )
            required = "**Required.** " if fld.name in endpoint.required else ""
            if fld.secret:
                tail = "(templated; rendered only at execution, never shown or returned)"
            else:
                tail = "(templated)"
            lines.append(f":param {attr}: {required}{fld.allowed()}.{where} {tail}")
        for name, default in cls.options.items():
            lines.append(f":param {name}: {_OPTION_DOCS[name]} Default ``{default!r}``.")
        lines += ["", "Common arguments (see :class:`SmartArenaRecordOperator`):", "", *_COMMON_DOCS]
        return "\n".join(lines)

    def __init__(
        self,
        *,
        records: list[dict[str, Any]] | dict[str, Any] | str | None = None,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        max_concurrency: int = 8,
        fail_on_error: bool = True,
        if_exists: IfExists | None = None,
        missing_ok: bool | None = None,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        cls = type(self)
        if cls.endpoint is None:
            raise TypeError(f"{cls.__name__} is abstract: use one of the Smart ARENA record operators")
        values: dict[str, Any] = {}
        for name in cls.record_fields:
            keyword = cls.field_attributes[name]
            if keyword in kwargs:
                values[name] = kwargs.pop(keyword)
        self._reject_unknown(kwargs, if_exists=if_exists, missing_ok=missing_ok)
        self._reject_ambiguous(kwargs, values, records)
        super().__init__(**kwargs)
        self.records = records
        self.smartarena_conn_id = smartarena_conn_id
        self.hook_params = checked_hook_params(hook_params)
        if max_concurrency < 1:
            raise ValueError(f"{cls.__name__}: max_concurrency must be at least 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.fail_on_error = fail_on_error
        self.if_exists: IfExists = (
            if_exists if if_exists is not None else cls.options.get("if_exists", "fail")
        )
        if self.if_exists not in _IF_EXISTS:
            raise ValueError(f"{cls.__name__}: if_exists must be one of {_IF_EXISTS}, got {self.if_exists!r}")
        self.missing_ok = bool(missing_ok if missing_ok is not None else cls.options.get("missing_ok", False))
        for name in cls.record_fields:
            setattr(self, cls.field_attributes[name], values.get(name))

    def _reject_ambiguous(self, kwargs: Mapping[str, Any], values: Mapping[str, Any], records: Any) -> None:
        """Fail at DAG parse time when a task argument was evidently meant as the record's field.

        ``start_date="2025-03-01"`` (not a datetime) can only be a course's date; ``email=`` on a
        create operator given no ``user_email`` nor ``records`` leaves the required e-mail unset.
        Either way the task could not do what was meant, so the error names the keyword to use.
        """
        cls = type(self)
        assert cls.endpoint is not None
        for name in FIELDS_NAMED_LIKE_TASK_ARGUMENTS.intersection(cls.record_fields):
            given = kwargs.get(name)
            if given is None:
                continue
            not_a_date = name in _DATETIME_TASK_ARGUMENTS and not isinstance(given, dt.datetime)
            required_unset = name in cls.endpoint.required and name not in values and records is None
            if not_a_date or required_unset:
                raise TypeError(
                    f"{cls.__name__} (task_id {kwargs.get('task_id')!r}): {name}= is the task's own"
                    f" BaseOperator argument, not the {self._label().lower()}'s {name}; give the record's"
                    f" as {cls.field_attributes[name]}= (or {name!r} inside records=)"
                )

    def _reject_unknown(self, kwargs: Mapping[str, Any], **options: Any) -> None:
        """Fail at DAG parse time on a keyword that is neither a record field nor a task argument."""
        cls = type(self)
        allowed = [cls.field_attributes[name] for name in cls.record_fields]
        for name, value in options.items():
            if value is not None and name not in cls.options:
                raise TypeError(
                    f"{cls.__name__} (task_id {kwargs.get('task_id')!r}) does not take {name!r}; "
                    f"its options are: {', '.join(cls.options) or 'none'}"
                )
        unknown = [name for name in kwargs if name not in TASK_ARGUMENTS]
        if unknown:
            name = unknown[0]
            # Matched against the API's names too: 'emial' is close to 'email', whose keyword is user_email.
            by_name = {**{n: cls.field_attributes[n] for n in cls.record_fields}, **{k: k for k in allowed}}
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f" Did you mean {by_name[close[0]]!r}?" if close else ""
            raise TypeError(
                f"{cls.__name__} (task_id {kwargs.get('task_id')!r}) got an unknown argument {name!r}.{hint} "
                f"Record fields of {cls.endpoint.method} {cls.endpoint.path}: {', '.join(allowed)}."  # type: ignore[union-attr]
            )

    @cached_property
    def hook(self) -> SmartArenaHook:
        from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

        return SmartArenaHook.for_task(self.smartarena_conn_id, self.hook_params)

    # ---- execute ------------------------------------------------------------------------------

    def operator_fields(self) -> dict[str, Any]:
        """The record fields given as keyword arguments (``None`` = not given)."""
        cls = type(self)
        return {
            name: value
            for name in cls.record_fields
            if (value := getattr(self, cls.field_attributes[name])) is not None
        }

    def execute(self, context: Context) -> Any:
        assert self.endpoint is not None
        shared = self.operator_fields()
        # Secret fields are kept out of template_fields (so that they never reach the rendered
        # templates in the UI) and rendered here instead, then masked in every log.
        for fld in self.endpoint.fields:
            if fld.secret and isinstance(shared.get(fld.name), str):
                shared[fld.name] = self.render_template(shared[fld.name], context)
        given = type(self).records.revealed(self)
        records = None if given is None else parse_records(given)
        if records is None:
            raw = [shared]
        elif isinstance(records, dict):
            raw = [{**shared, **records}]
        else:
            raw = [{**shared, **record} for record in records]
        self._mask_secrets(raw)

        items = self._validate(raw)
        if not isinstance(records, list):
            item = items[0]
            if item.error is not None:
                raise item.error
            self.log.info("%s", self.describe(item.values))
            outcome = self.apply_record(self.hook, item.values)
            self.log.info("%s %r: %s", self._label(), item.key, outcome["action"])
            return outcome
        return self._run_batch(context, items)

    def _mask_secrets(self, records: list[dict[str, Any]]) -> None:
        assert self.endpoint is not None
        for record in records:
            for name in self.endpoint.secret_fields:
                if isinstance(record.get(name), str) and record[name]:
                    mask_secret(record[name])

    def _validate(self, records: list[dict[str, Any]]) -> list[_Item]:
        """Check every record before any request; later duplicates of a key are errors."""
        assert self.endpoint is not None
        tz = self.hook.timezone
        items: list[_Item] = []
        seen: dict[str, int] = {}
        for index, record in enumerate(records):
            key = record.get(self.key_field)
            item = _Item(index=index, key=str(key) if key is not None else None, values={})
            try:
                item.values = self.endpoint.prepare(record, tz)
                item.key = str(item.values[self.key_field])
                if item.key in seen:
                    raise SmartArenaInputError(
                        self.key_field, f"{item.key!r} repeats record #{seen[item.key]} of this run"
                    )
                seen[item.key] = index
            except SmartArenaInputError as err:
                item.error = err
            items.append(item)
        return items

    def _run_batch(self, context: Context, items: list[_Item]) -> dict[str, Any]:
        valid = [item for item in items if item.error is None]
        self.log.info(
            "%s %d %s record(s) (%d invalid), at most %d at a time",
            self.verb,
            len(valid),
            self._label(),
            len(items) - len(valid),
            self.max_concurrency,
        )
        failed_keys: set[str] = set()
        levels, waits_for = self.order_batch(self.hook, valid)
        for level in levels:
            runnable = []
            for item in level:
                blocker = next((k for k in waits_for.get(item.key or "", []) if k in failed_keys), None)
                if blocker:
                    item.error = SmartArenaError(f"not attempted: it depends on {blocker!r}, which failed")
                    failed_keys.add(item.key or "")
                else:
                    runnable.append(item)
            outcomes = self.hook.run_concurrently(
                lambda it: self.apply_record(self.hook, it.values), runnable, max_workers=self.max_concurrency
            )
            for item, out in zip(runnable, outcomes, strict=True):
                if out.ok:
                    item.outcome = out.result
                else:
                    item.error = out.error
                    failed_keys.add(item.key or "")

        results = []
        counts: dict[str, int] = {}
        for item in items:
            if item.error is not None:
                self.log.error(
                    "%s %r (record #%d) failed: %s", self._label(), item.key, item.index, item.error
                )
                outcome = result(item.key, FAILED, error=f"{type(item.error).__name__}: {item.error}")
            else:
                assert item.outcome is not None
                outcome = item.outcome
            results.append(outcome)
            counts[outcome["action"]] = counts.get(outcome["action"], 0) + 1
        summary = {"results": results, "counts": counts, "total": len(items)}
        self.log.info(
            "%s records: %s", self._label(), ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
        )
        if counts.get(FAILED) and self.fail_on_error:
            context["ti"].xcom_push(key="results", value=summary)
            lines = [
                f"  #{r_i}: {r['mapping_code']!r}: {r['error']}"
                for r_i, r in enumerate(results)
                if r["action"] == FAILED
            ]
            raise AirflowException(
                f"{counts[FAILED]} of {len(items)} {self._label()} record(s) failed "
                f"(the others were applied; outcomes in XCom 'results'):\n" + "\n".join(lines)
            )
        return summary

    # ---- ordering records that depend on each other ------------------------------------------

    def order_batch(
        self, hook: SmartArenaHook, items: list[_Item]
    ) -> tuple[list[list[_Item]], dict[str, list[str]]]:
        """Split a list into levels applied one after the other: parents before their children.

        Branches and qualification groups name a parent; a child created before its parent (or a
        parent deleted before its children) would fail, so a record whose parent is in the same run
        waits for it. Deletions run the other way round, children first, with the parent links read
        from the platform in one list call. A record whose parent (or, when deleting, child) failed
        is not attempted. Returns the levels and, for each key, the keys it waits for.
        """
        parents = self._parent_links(hook, items)
        if not parents:
            return ([items] if items else []), {}
        in_run = {item.key for item in items}
        depth: dict[str, int] = {}

        def depth_of(key: str, trail: tuple[str, ...] = ()) -> int:
            if key in trail:
                raise SmartArenaInputError(
                    "parent_mapping_code", f"forms a cycle: {' -> '.join((*trail, key))}"
                )
            if key not in depth:
                parent = parents.get(key)
                depth[key] = depth_of(parent, (*trail, key)) + 1 if parent in in_run and parent else 0
            return depth[key]

        levels: dict[int, list[_Item]] = {}
        for item in items:
            try:
                levels.setdefault(depth_of(item.key or ""), []).append(item)
            except SmartArenaInputError as err:
                item.error = err
        ordered = [levels[d] for d in sorted(levels)]
        if self.action == "delete":
            ordered.reverse()
        waits_for = {
            item.key or "": (
                [k for k, p in parents.items() if p == item.key and k in in_run]
                if self.action == "delete"
                else [p for p in [parents.get(item.key or "")] if p in in_run and p]
            )
            for item in items
        }
        return ordered, waits_for

    def _parent_links(self, hook: SmartArenaHook, items: list[_Item]) -> dict[str, str | None]:
        """mapping_code -> parent_mapping_code for the records of a tree resource, else empty."""
        if (
            self.resource is None
            or "parent_mapping_code" not in self.resource.create.field_names
            or not items
        ):
            return {}
        if self.action == "delete":
            listed = hook.list_records(self.resource)
            return {str(r.get(self.key_field)): r.get("parent_mapping_code") for r in listed}
        return {item.key or "": item.values.get("parent_mapping_code") for item in items}

    # ---- applying one record ------------------------------------------------------------------

    def apply_record(self, hook: SmartArenaHook, values: dict[str, Any]) -> dict[str, Any]:
        """Apply one validated record and return its outcome (see :func:`result`)."""
        assert self.resource is not None
        assert self.action is not None
        key = str(values[self.key_field])
        if self.action == "delete":
            return self._delete(hook, key, values)
        current = hook.get_record(self.resource, key)
        if current is None:
            if self.action == "update":
                return self._missing(key)
            return self._create(hook, key, values)
        return self._existing(hook, key, values, current)

    def _missing(self, key: str) -> dict[str, Any]:
        if self.missing_ok:
            self.log.info("%s %r does not exist; skipped (missing_ok)", self._label(), key)
            return result(key, SKIPPED)
        raise SmartArenaNotFoundError(
            f"{self._label()} {key!r} does not exist (set missing_ok=True to skip missing records)"
        )

    def _existing(
        self, hook: SmartArenaHook, key: str, values: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        if self.action == "create":
            if self.if_exists == "skip":
                return result(key, SKIPPED, self.public(current))
            if self.if_exists == "fail":
                # A record that already holds exactly the wanted values is what an earlier attempt
                # of this very task created (an Airflow retry): not a conflict.
                differ = changed_fields(self._comparable(), values, current, hook.timezone)
                if not differ:
                    return result(key, UNCHANGED, self.public(current))
                raise SmartArenaError(
                    f"{self._label()} {key!r} already exists with another {', '.join(differ)} "
                    "(if_exists='fail'; use if_exists='skip' or 'update', or the Upsert operator)"
                )
        return self._update(hook, key, values, current)

    def _comparable(self) -> list[Field]:
        """The fields compared with the platform's record: updatable, not the key, not secret."""
        assert self.resource is not None
        return [f for f in self.resource.update.fields if f.name != self.key_field and not f.secret]

    def _create(self, hook: SmartArenaHook, key: str, values: dict[str, Any]) -> dict[str, Any]:
        assert self.resource is not None
        # Upsert validated only the key up front; creating needs the create call's required fields.
        payload = self.resource.create.prepare(values, hook.timezone)
        try:
            response = hook.create_record(self.resource, payload)
        except SmartArenaValidationError:
            # A retried request, or another writer, may have created it meanwhile: read again.
            current = hook.get_record(self.resource, key)
            if current is None:
                raise
            return self._existing(hook, key, values, current)
        created = sorted(name for name in self.public(payload) if name != self.key_field)
        return result(key, CREATED, self.public(self._merged(response, payload)), created)

    def _update(
        self, hook: SmartArenaHook, key: str, values: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        assert self.resource is not None
        update = self.resource.update
        changed = changed_fields(self._comparable(), values, current, hook.timezone)
        # A password cannot be compared: the platform never returns it. The Update operator sends
        # it when given; Upsert (and Create with if_exists="update") set it only on creation, so
        # that re-running a sync does not reset passwords users have changed since.
        if self.action == "update":
            changed += [f.name for f in update.fields if f.secret and values.get(f.name) is not None]
        if not changed:
            return result(key, UNCHANGED, self.public(current))
        payload = {self.key_field: key, **{name: values[name] for name in changed}}
        try:
            response = hook.update_record(self.resource, payload)
        except SmartArenaNotFoundError:
            if self.action == "update":
                return self._missing(key)
            raise
        merged = self._merged(response, {**current, **payload})
        return result(key, UPDATED, self.public(merged), changed)

    def _delete(self, hook: SmartArenaHook, key: str, values: dict[str, Any]) -> dict[str, Any]:
        assert self.resource is not None
        current = hook.get_record(self.resource, key)
        if current is None:
            return self._missing(key)
        extra = {name: v for name, v in values.items() if name != self.key_field}
        if DeleteMode.nothing_to_do(extra.get("delete_mode"), current):
            return result(key, UNCHANGED, self.public(current))
        try:
            hook.delete_record(self.resource, key, **extra)
        except SmartArenaNotFoundError:
            return self._missing(key)
        return result(key, DELETED, self.public(current))

    # ---- helpers ------------------------------------------------------------------------------

    def _merged(self, response: Any, sent: Mapping[str, Any]) -> dict[str, Any]:
        """The record after a write: the server's copy when it returns one, else what was sent."""
        if isinstance(response, Mapping):
            inner = response.get("data", response)
            if isinstance(inner, Mapping) and str(inner.get("mapping_code")) == str(sent.get("mapping_code")):
                return {**sent, **inner}
        return dict(sent)

    def secret_field_names(self) -> frozenset[str]:
        """The fields of this operator's records that are secret (``password`` at least)."""
        secret = {"password"}
        if self.endpoint is not None:
            secret |= self.endpoint.secret_fields
        if self.resource is not None:
            secret |= self.resource.create.secret_fields | self.resource.update.secret_fields
        return frozenset(secret)

    def public(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` without secret fields, fit for XCom and logs."""
        secret = self.secret_field_names()
        return {k: v for k, v in record.items() if k not in secret}

    def _label(self) -> str:
        return self.resource.label if self.resource is not None else self.label

    def describe(self, values: Mapping[str, Any]) -> str:
        """What applying one record does, in words, for the log."""
        return f"{self.verb} {self._label()} {values.get(self.key_field)!r}"


_COMMON_DOCS = (
    ":param records: a list of records (dicts keyed by field name) to apply in one task; fields given "
    "as keyword arguments are defaults shared by every record. (templated)",
    ":param smartarena_conn_id: the Smart ARENA connection. Default ``'smartarena_default'``.",
    ":param max_concurrency: how many records of a list are applied at the same time. Default 8.",
    ":param fail_on_error: fail the task at the end if any record of a list failed. Default True.",
    ':param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}``; '
    "checked when the task is declared. Default None.",
)
_OPTION_DOCS = {
    "if_exists": "what to do when a record with this mapping_code already exists: ``'fail'`` "
    "(unless it already holds the given values, as after a retry: then ``unchanged``), ``'skip'`` "
    "(leave it as it is) or ``'update'`` (update only the fields that differ).",
    "missing_ok": "report a record that does not exist as ``skipped`` instead of failing.",
}


def _generated_init(cls: type[SmartArenaRecordOperator]) -> Callable[..., None]:
    """An ``__init__`` for ``cls`` whose signature names the record fields.

    This is where the operators depend on Airflow's operator metaclass (``BaseOperatorMeta`` on
    2.11 and 3.x): it reads an operator's accepted arguments from the ``__signature__`` of its
    ``__init__`` to apply ``default_args`` and to validate ``partial()`` and ``expand()``, and wraps
    that ``__init__`` when the class is created. The signature therefore lists every record field
    under its keyword name (``user_email``, not ``email``, which stays the task's), and the base
    ``__init__`` does the work. Type checkers cannot see this runtime signature: each class carries
    the same keywords under ``TYPE_CHECKING``, as a ``TypedDict`` of ``operators/_fields.py``, both
    written by ``scripts/gen_operator_stubs.py``.
    """

    def init(self: SmartArenaRecordOperator, **kwargs: Any) -> None:
        super(cls, self).__init__(**kwargs)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        inspect.Parameter(cls.field_attributes[name], keyword, default=None, annotation="Any")
        for name in cls.record_fields
    ]
    params += [inspect.Parameter(name, keyword, default=default) for name, default in cls.options.items()]
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD, annotation="Any"))
    init.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    init.__name__ = "__init__"
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"Declare a {cls.__name__} task; the record fields are listed on the class."
    return init
