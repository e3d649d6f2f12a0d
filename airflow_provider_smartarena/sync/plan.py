"""Pure planning of a user sync: desired rows + the platform's current records -> actions.

Nothing here talks to the network, so every rule of the sync (what counts as a change, which refs
must be created first, what mirror may delete, the deletion threshold) is unit-testable with plain
dicts. :func:`build_plan` is the entry point; :class:`SyncPlan` is what it returns.

Rules worth knowing:

* Fields a row leaves empty (``None``) are not managed: they are neither sent nor compared, so a
  sync never clears a value on the platform.
* Values are compared as the record operators compare them (desired values already in the API's
  form): roles as a set, dates by day, e-mails case-insensitively, so noise never causes a write.
* Passwords and ``register_mail`` matter only on create; they are never compared.
* A row whose key appears twice in the source is ambiguous: every copy is invalid, nothing is sent.
* Org refs (``branch_mapping_code``...) must exist on the platform or be created by this sync first;
  a write that depends on one records it in ``depends_on`` and the apply step orders by it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_smartarena import records
from airflow_provider_smartarena.enums import DeleteMode
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.records import Outcome, code_key
from airflow_provider_smartarena.resources import BRANCHES, LOCATIONS, USERS, WORKPLACES, Field, Resource

Action = Literal["create", "update", "delete", "unchanged", "protected", "invalid", "skip"]

MODES: tuple[str, ...] = ("upsert", "create_only", "update_only", "mirror")
#: The status each action ends in when nothing goes wrong; a write that fails ends ``failed``.
STATUSES: dict[str, Outcome] = {
    "create": Outcome.CREATED,
    "update": Outcome.UPDATED,
    "delete": Outcome.DELETED,
    "unchanged": Outcome.UNCHANGED,
    "protected": Outcome.PROTECTED,
    "invalid": Outcome.INVALID,
    "skip": Outcome.SKIPPED,
}
FAILED = Outcome.FAILED
WRITE_ACTIONS: frozenset[str] = frozenset({"create", "update", "delete"})
#: Org resources a sync manages, in the order their phases run.
ORG_RESOURCES: tuple[Resource, ...] = (BRANCHES, LOCATIONS, WORKPLACES)
#: The user fields that reference an org resource.
USER_REFS: dict[str, Resource] = {
    "branch_mapping_code": BRANCHES,
    "location_mapping_code": LOCATIONS,
    "workplace_mapping_code": WORKPLACES,
}

Key = tuple[str, str]  # (resource name, mapping_code)
#: The operator argument that lists desired records of each resource.
ARGUMENT_OF = {"branch": "branches", "location": "locations", "workplace": "workplaces", "user": "users"}


@dataclass
class SourceRow:
    """One desired record as read from the source.

    :param number: 1-based position in the source (a CSV's data line, a list index + 1).
    :param values: API field -> value; ``None`` means "not set".
    :param error: why the row could not be read at all (bad JSON line ...), if so.
    :param named: mapping codes salvaged from a row that could not be read (its cells, or the
        ``mapping_code`` of a broken JSON line): users it may name, and so must not be deleted.
    """

    number: int
    values: dict[str, Any]
    error: str | None = None
    named: tuple[str, ...] = ()

    def codes(self) -> frozenset[str]:
        """Every mapping code this row may name, in the form the platform compares (see :func:`code_key`).

        A row that cannot be read or fails validation still names these users: it is never evidence
        that they left the source.
        """
        out = {code_key(value) for value in (self.values.get("mapping_code"), *self.named)}
        return frozenset(code for code in out if code)


@dataclass
class PlannedAction:
    """What the sync will do (or did not do, and why) for one record.

    ``body`` holds the parameters to send, without secrets; ``secrets`` holds those (the password)
    and is never rendered, logged or returned.
    """

    resource: str
    mapping_code: str | None
    action: Action
    body: dict[str, Any] = field(default_factory=dict)
    changed_fields: tuple[str, ...] = ()
    message: str | None = None
    row: int | None = None
    depends_on: tuple[Key, ...] = ()
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)
    #: What happened when the plan was applied (see ``STATUSES``); None until then.
    status: str | None = None

    @property
    def key(self) -> Key:
        return (self.resource, self.mapping_code or "")

    @property
    def is_write(self) -> bool:
        return self.action in WRITE_ACTIONS

    def invalidate(self, message: str) -> None:
        self.action, self.message, self.body, self.changed_fields = "invalid", message, {}, ()
        self.secrets.clear()
        self.depends_on = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description without secrets (``body`` is left out: it may hold personal data)."""
        out: dict[str, Any] = {
            "resource": self.resource,
            "mapping_code": self.mapping_code,
            "action": self.action,
        }
        if self.status is not None:
            out["status"] = str(self.status)
        if self.changed_fields:
            out["changed_fields"] = list(self.changed_fields)
        if self.message:
            out["message"] = self.message
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass
class SyncPlan:
    """Every action of one sync, and whether it must abort before writing."""

    actions: list[PlannedAction]
    managed_count: int = 0
    delete_limit: float | None = None
    abort_reason: str | None = None
    #: Resources whose current records the plan needs (to check refs) but was not given: read them
    #: and plan again. Reading an org list only when a write references it keeps a quiet sync at
    #: one read.
    unread: frozenset[str] = frozenset()
    #: Mirror only: source rows from which no mapping_code could be read. Any of them may be a
    #: user still wanted, so no deletion is planned and the task fails after the other writes.
    unnamed_rows: tuple[int, ...] = ()
    deletions_skipped: str | None = None

    @property
    def writes(self) -> list[PlannedAction]:
        return [a for a in self.actions if a.is_write]

    def counts(self) -> dict[str, dict[str, int]]:
        """``{resource: {action: n}}`` for every resource present."""
        out: dict[str, dict[str, int]] = {}
        for action in self.actions:
            per = out.setdefault(action.resource, {})
            per[action.action] = per.get(action.action, 0) + 1
        return out

    def phases(self) -> list[list[PlannedAction]]:
        """The writes in the order they must run; the actions of one phase are independent.

        Deletes run first (a user replaced under a new mapping_code frees its e-mail and username
        before the new one is created); then writes by dependency depth: refs before what uses them,
        parent branches before their children.
        """
        writes = self.writes
        by_key = {a.key: a for a in writes}
        depth: dict[Key, int] = {}

        def level(action: PlannedAction) -> int:
            if action.key not in depth:
                deps = [by_key[k] for k in action.depends_on if k in by_key]
                depth[action.key] = 1 + max((level(d) for d in deps), default=-1)
            return depth[action.key]

        deletes = [a for a in writes if a.action == "delete"]
        others = [a for a in writes if a.action != "delete"]
        levels: dict[int, list[PlannedAction]] = {}
        for action in others:
            levels.setdefault(level(action), []).append(action)
        phases = [deletes] if deletes else []
        phases.extend(levels[n] for n in sorted(levels))
        return phases


# ---------------------------------------------------------------------------------------------
# options


@dataclass(frozen=True)
class ManagedFilter:
    """Which platform users a mirror sync owns (and so may delete): a mapping_code prefix or regex.

    A regex must match the whole mapping_code (``re.fullmatch``), so ``hr-\\d+`` cannot match
    ``xhr-1``. Callables are not accepted: they cannot be templated or serialised with the DAG.
    """

    prefix: str | None = None
    regex: str | None = None

    @classmethod
    def parse(cls, value: Any) -> ManagedFilter | None:
        """Accept ``"hr-"`` (a prefix), ``{"prefix": "hr-"}``, ``{"regex": "hr-\\d+"}`` or a pattern."""
        if value is None or isinstance(value, ManagedFilter):
            return value
        if isinstance(value, re.Pattern):
            return cls(regex=value.pattern)
        if isinstance(value, str):
            if not value:
                raise ValueError(
                    "managed_filter: an empty prefix would manage every user; use {'regex': '.*'}"
                )
            return cls(prefix=value)
        if isinstance(value, Mapping) and len(value) == 1:
            kind, pattern = next(iter(value.items()))
            if kind == "prefix" and isinstance(pattern, str):
                return cls.parse(pattern)
            if kind == "regex" and isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(f"managed_filter: bad regex {pattern!r}: {err}") from None
                return cls(regex=pattern)
        raise ValueError(
            f"managed_filter: expected a prefix string, {{'prefix': ...}} or {{'regex': ...}}, got {value!r}"
        )

    def matches(self, mapping_code: str) -> bool:
        if self.prefix is not None:
            return mapping_code.startswith(self.prefix)
        return self.regex is not None and re.fullmatch(self.regex, mapping_code) is not None

    def __str__(self) -> str:
        if self.prefix is not None:
            return f"mapping_code starts with {self.prefix!r}"
        return f"mapping_code matches {self.regex!r}"


@dataclass(frozen=True)
class DeleteThreshold:
    """``max_deletes``: a count (``50``) or a share of the managed users (``"10%"``)."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: Any) -> DeleteThreshold | None:
        if value is None or isinstance(value, DeleteThreshold):
            return value
        text = str(value).strip()
        try:
            if isinstance(value, str) and text.endswith("%"):
                percent = float(text[:-1])
                if not 0 <= percent <= 100:
                    raise ValueError
                return cls(percent=percent)
            if isinstance(value, bool):
                raise ValueError
            count = int(text) if isinstance(value, str) else value
            if not isinstance(count, int) or count < 0:
                raise ValueError
            return cls(count=count)
        except ValueError:
            raise ValueError(
                f"max_deletes: expected a count >= 0 or a percentage like '10%', got {value!r}"
            ) from None

    def limit(self, managed: int) -> float:
        return float(self.count) if self.count is not None else managed * (self.percent or 0.0) / 100

    def __str__(self) -> str:
        return f"{self.count}" if self.count is not None else f"{self.percent:g}% of managed users"


@dataclass(frozen=True)
class SyncOptions:
    """How to turn the diff into actions (see the operator for the meaning of each)."""

    mode: str = "upsert"
    managed_filter: ManagedFilter | None = None
    delete_mode: int | None = None
    max_deletes: DeleteThreshold | None = None
    create_missing_refs: bool = False
    root_branch_mapping_code: str | None = None
    set_password_on_create: bool = True
    register_mail: int | None = None
    timezone: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "mirror" and self.managed_filter is None:
            raise ValueError("mode='mirror' needs managed_filter: the users this sync owns and may delete")


# ---------------------------------------------------------------------------------------------
# comparison


def changed_fields(
    resource: Resource, desired: Mapping[str, Any], current: Mapping[str, Any], tz: dt.tzinfo
) -> tuple[str, ...]:
    """The comparable fields of ``resource`` that ``desired`` sets to a value ``current`` lacks.

    The comparison is the record operators' (:func:`airflow_provider_smartarena.records.changed_fields`):
    roles as a set, dates by day in the connection's zone, e-mails case-insensitively, empty as unset.

    :param resource: the resource both records belong to.
    :param desired: the wanted values, already in the API's form.
    :param current: the platform's record.
    :param tz: the connection's time zone.
    """
    return tuple(records.changed_fields(_comparable_fields(resource), desired, current, tz))


@functools.cache
def _comparable_fields(resource: Resource) -> tuple[Field, ...]:
    return tuple(resource.update.field(name) for name in resource.comparable)


def is_protected(record: Mapping[str, Any]) -> bool:
    return str(record.get("synch_protected") or 0).strip() == "1"


# ---------------------------------------------------------------------------------------------
# planning


def build_plan(
    users: Sequence[SourceRow],
    current: Mapping[str, Sequence[Mapping[str, Any]]],
    options: SyncOptions,
    org: Mapping[str, Sequence[SourceRow]] | None = None,
) -> SyncPlan:
    """Diff the desired records against the platform's current ones and return the actions.

    :param users: the desired users.
    :param current: resource name (``user``, ``branch``...) -> every record the platform holds;
        an org resource left out is read only if needed (see :attr:`SyncPlan.unread`).
    :param options: the sync's settings.
    :param org: resource name -> desired rows of branches, locations, workplaces.
    """
    planner = _Planner(current, options)
    for resource in ORG_RESOURCES:
        planner.plan_rows(resource, (org or {}).get(resource.name, ()))
    user_actions = planner.plan_rows(USERS, users)
    planner.resolve_branch_parents()
    planner.invalidate_branch_cycles()
    for action in user_actions:
        planner.resolve_user_refs(action)
    planner.propagate_invalid()
    plan = SyncPlan(planner.ordered_actions(), unread=frozenset(planner.unread))
    if options.mode == "mirror":
        # Every code a row names counts as present, valid row or not: a typo, a ragged CSV line or a
        # broken JSON line must never delete the person it names. A row naming no code at all could
        # be anyone, so it stops the deletions altogether.
        in_source: set[str] = set()
        for row in users:
            codes = row.codes()
            in_source |= codes
            if not codes:
                plan.unnamed_rows = (*plan.unnamed_rows, row.number)
        if plan.unnamed_rows:
            plan.deletions_skipped = (
                f"mirror deletions did not run: source row(s) {', '.join(map(str, plan.unnamed_rows))}"
                " name no readable mapping_code, so the source cannot show which users left it;"
                " fix those rows and run again"
            )
        else:
            planner.plan_deletes(plan, in_source)
    return plan


class _Planner:
    """Holds the indexes one planning pass needs; see :func:`build_plan` for the steps."""

    def __init__(self, current: Mapping[str, Sequence[Mapping[str, Any]]], options: SyncOptions) -> None:
        self.options = options
        self.tz = options.timezone
        self.current: dict[str, dict[str, Mapping[str, Any]]] = {
            name: {str(r["mapping_code"]): r for r in records if r.get("mapping_code") is not None}
            for name, records in current.items()
        }
        self.planned: dict[Key, PlannedAction] = {}
        self.actions: list[PlannedAction] = []
        self.unread: set[str] = set()

    def exists(self, resource: Resource, code: str) -> bool:
        return code in self.current.get(resource.name, {})

    # -- rows -> actions ------------------------------------------------------------------------

    def plan_rows(self, resource: Resource, rows: Iterable[SourceRow]) -> list[PlannedAction]:
        rows = list(rows)
        seen = Counter(_code_of(row) for row in rows)
        out = []
        for row in rows:
            code = _code_of(row)
            action = PlannedAction(resource.name, code, "invalid", row=row.number)
            if row.error:
                action.message = row.error
            elif code is None:
                action.message = _bad_code(row.values.get("mapping_code"))
            elif seen[code] > 1:
                action.message = f"mapping_code {code!r} appears more than once in the source"
            else:
                self._diff_row(resource, action, dict(row.values))
            out.append(action)
            self.actions.append(action)
            self.planned.setdefault(action.key, action)
        return out

    def _diff_row(self, resource: Resource, action: PlannedAction, values: dict[str, Any]) -> None:
        code = action.mapping_code
        assert code is not None
        password = values.pop("password", None)
        register_mail = values.pop("register_mail", None)
        current = self.current.get(resource.name, {}).get(code)
        # Modes are about users; the org units a sync is given are always upserted, never deleted.
        mode = self.options.mode if resource is USERS else "upsert"
        try:
            if current is not None:
                self._diff_existing(resource, action, values, current, mode)
            elif mode == "update_only":
                action.action, action.message = "skip", "not on the platform (mode update_only)"
            else:
                if resource is USERS:
                    values["register_mail"] = _first_set(register_mail, self.options.register_mail)
                    if self.options.set_password_on_create:
                        values["password"] = password
                prepared = resource.create.prepare(values, self.tz)
                action.secrets = {k: prepared.pop(k) for k in resource.create.secret_fields if k in prepared}
                action.action, action.body = "create", prepared
        except SmartArenaInputError as err:
            action.invalidate(err.message)

    def _diff_existing(
        self,
        resource: Resource,
        action: PlannedAction,
        values: dict[str, Any],
        current: Mapping[str, Any],
        mode: str,
    ) -> None:
        prepared = resource.update.prepare(values, self.tz)  # validates even rows that end up unchanged
        if resource is USERS and is_protected(current):
            action.action, action.message = "protected", "synch_protected=1 on the platform"
        elif mode == "create_only":
            action.action, action.message = "skip", "already on the platform (mode create_only)"
        elif changed := changed_fields(resource, prepared, current, self.tz):
            action.action, action.changed_fields = "update", changed
            action.body = {"mapping_code": action.mapping_code, **{f: prepared[f] for f in changed}}
        else:
            action.action = "unchanged"

    # -- references -----------------------------------------------------------------------------

    def resolve_branch_parents(self) -> None:
        for action in [a for a in self.actions if a.resource == BRANCHES.name and a.is_write]:
            parent = action.body.get("parent_mapping_code")
            if parent is not None:
                self._require(action, BRANCHES, parent, "parent_mapping_code")

    def resolve_user_refs(self, action: PlannedAction) -> None:
        for name, resource in USER_REFS.items():
            code = action.body.get(name)
            if code is not None and action.action in ("create", "update"):
                self._require(action, resource, code, name)

    def _require(self, action: PlannedAction, resource: Resource, code: str, field_name: str) -> None:
        """Make ``action`` depend on ``resource`` ``code`` existing, planning its creation if allowed."""
        if resource.name not in self.current:
            self.unread.add(resource.name)
            return
        if self.exists(resource, code):
            return  # it exists; even a bad row or a failed update of it does not stop records using it
        what = f"{field_name}: {resource.label.lower()} {code!r}"
        planned = self.planned.get((resource.name, code))
        if planned is None and self.options.create_missing_refs:
            planned = self._auto_create(resource, code)
        if planned is None:
            action.invalidate(
                f"{what} does not exist on the platform"
                f" (give it in {ARGUMENT_OF[resource.name]}=[...] or set create_missing_refs=True)"
            )
        elif planned.action == "invalid":
            action.invalidate(f"{what} is invalid: {planned.message}")
        elif planned.action == "create":
            action.depends_on = (*action.depends_on, planned.key)

    def _auto_create(self, resource: Resource, code: str) -> PlannedAction:
        action = PlannedAction(resource.name, code, "create", message="referenced; created as missing")
        self.actions.append(action)
        self.planned[action.key] = action
        values: dict[str, Any] = {"mapping_code": code, "name": code}
        if resource is BRANCHES:
            root = self._root_branch()
            if root is None:
                action.invalidate("no single root branch to create it under; set root_branch_mapping_code")
                return action
            values["parent_mapping_code"] = root
        try:
            action.body = resource.create.prepare(values, self.tz)
        except SmartArenaInputError as err:
            action.invalidate(err.message)
            return action
        if resource is BRANCHES:
            self._require(action, BRANCHES, values["parent_mapping_code"], "parent_mapping_code")
        return action

    def _root_branch(self) -> str | None:
        """The parent of created missing branches: the option, or the platform's one parentless branch.

        A root that does not exist is never invented (its own parent would be unknown): it must be on
        the platform or among the given branches.
        """
        root = self.options.root_branch_mapping_code
        if root is None:
            branches = self.current.get(BRANCHES.name, {})
            roots = [code for code, record in branches.items() if not record.get("parent_mapping_code")]
            return roots[0] if len(roots) == 1 else None
        given = self.planned.get((BRANCHES.name, root))
        return root if self.exists(BRANCHES, root) or (given and given.action == "create") else None

    # -- branch tree ----------------------------------------------------------------------------

    def invalidate_branch_cycles(self) -> None:
        """Invalidate branches whose parent chain, after this sync, would loop back to them."""
        parents = {c: r.get("parent_mapping_code") for c, r in self.current.get(BRANCHES.name, {}).items()}
        writes = [a for a in self.actions if a.resource == BRANCHES.name and a.is_write]
        for action in writes:
            if action.body.get("parent_mapping_code"):
                parents[action.mapping_code or ""] = action.body["parent_mapping_code"]
        for action in writes:
            chain = _parent_chain(action.mapping_code or "", parents)
            if chain is not None:
                action.invalidate(f"parent_mapping_code: the branch tree would loop: {' -> '.join(chain)}")

    def propagate_invalid(self) -> None:
        """Invalidate writes that depend on a ref which turned out invalid (to a fixed point)."""
        changed = True
        while changed:
            changed = False
            for action in self.actions:
                bad = [key for key in action.depends_on if self.planned[key].action == "invalid"]
                if bad:
                    resource, code = bad[0]
                    action.invalidate(f"depends on {resource} {code!r}, which is invalid")
                    changed = True

    def ordered_actions(self) -> list[PlannedAction]:
        order = {r.name: i for i, r in enumerate((*ORG_RESOURCES, USERS))}
        return sorted(self.actions, key=lambda a: order[a.resource])  # stable: source order within

    # -- mirror ---------------------------------------------------------------------------------

    def plan_deletes(self, plan: SyncPlan, in_source: set[str]) -> None:
        """Delete managed users missing from the source; abort (in the plan) above ``max_deletes``.

        Users named in the source count as present even when their row is invalid: a typo in a row
        must never delete the person.
        """
        options = self.options
        managed_filter = options.managed_filter
        assert managed_filter is not None
        users = self.current.get(USERS.name, {})
        managed = [record for code, record in users.items() if managed_filter.matches(code)]
        plan.managed_count = len(managed)
        for record in managed:
            code = str(record["mapping_code"])
            if code_key(code) in in_source or DeleteMode.nothing_to_do(options.delete_mode, record):
                continue  # wanted, or already partially deleted: nothing more a partial delete can do
            if is_protected(record):
                message = "not in the source; synch_protected=1 on the platform"
                plan.actions.append(PlannedAction(USERS.name, code, "protected", message=message))
                continue
            body = {"mapping_code": code, "delete_mode": options.delete_mode}
            body = {k: v for k, v in body.items() if v is not None}
            plan.actions.append(
                PlannedAction(USERS.name, code, "delete", body=body, message="not in the source")
            )
        deletes = sum(1 for a in plan.actions if a.action == "delete")
        if options.max_deletes is None:
            return
        plan.delete_limit = options.max_deletes.limit(plan.managed_count)
        if deletes > plan.delete_limit:
            plan.abort_reason = (
                f"mirror would delete {deletes} of {plan.managed_count} managed users"
                f" ({managed_filter}), more than max_deletes={options.max_deletes}"
                f" (limit {plan.delete_limit:g}); nothing was written."
                " Check the source, or raise max_deletes if this is intended."
            )


# ---------------------------------------------------------------------------------------------
# helpers


def _code_of(row: SourceRow) -> str | None:
    """The row's mapping_code if it is a usable key, else None (the row is then invalid)."""
    value = row.values.get("mapping_code")
    if row.error is not None or _bad_code(value) is not None:
        return None
    return str(value)


def _bad_code(value: Any) -> str | None:
    """Why ``value`` cannot be a mapping_code, or None when it can."""
    if value is None:
        return "mapping_code: is required"
    try:
        USERS.update.field("mapping_code").convert(value, dt.UTC)
    except SmartArenaInputError as err:
        return err.message
    return None


def _first_set(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _parent_chain(start: str, parents: Mapping[str, Any]) -> list[str] | None:
    """The loop ``start -> ... -> start`` if following parents returns to ``start``, else None."""
    chain, node, seen = [start], parents.get(start), {start}
    while node:
        chain.append(node)
        if node == start:
            return chain
        if node in seen:
            return None  # a loop that does not include start: it is reported for its own members
        seen.add(node)
        node = parents.get(node)
    return None


__all__ = [
    "ARGUMENT_OF",
    "FAILED",
    "MODES",
    "STATUSES",
    "DeleteThreshold",
    "ManagedFilter",
    "PlannedAction",
    "SourceRow",
    "SyncOptions",
    "SyncPlan",
    "build_plan",
    "changed_fields",
    "code_key",
]
