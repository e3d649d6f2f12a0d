"""Applying a user sync plan: its writes, phase by phase, with bounded concurrency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_smartarena.exceptions import SmartArenaNotFoundError
from airflow_provider_smartarena.records import Outcome
from airflow_provider_smartarena.resources import RESOURCES
from airflow_provider_smartarena.sync.plan import STATUSES, Key, PlannedAction, SyncPlan

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook


class ErrorLog(Protocol):
    """What :func:`apply_plan` needs of a logger (the stdlib's and Airflow's task logger both fit)."""

    def error(self, msg: Any, /, *args: Any) -> Any: ...


def apply_plan(hook: SmartArenaHook, plan: SyncPlan, max_concurrency: int, log: ErrorLog) -> int:
    """Run the plan's writes phase by phase, set every action's status, and return how many were sent.

    One failing write does not stop the others; a record whose dependency (its branch, its parent)
    failed is not attempted and ends ``failed``. A delete answered "not found" is already done.

    :param hook: the hook that writes.
    :param plan: the plan; its actions' ``status`` and ``message`` are filled in.
    :param max_concurrency: writes in flight at once.
    :param log: where failed writes are logged.
    """
    failed: set[Key] = set()
    write_calls = 0
    for phase in plan.phases():
        runnable = []
        for action in phase:
            blocker = next((key for key in action.depends_on if key in failed), None)
            if blocker is None:
                runnable.append(action)
            else:
                action.status = Outcome.FAILED
                action.message = f"not attempted: {blocker[0]} {blocker[1]!r} failed"
                failed.add(action.key)
        write_calls += len(runnable)
        outcomes = hook.run_concurrently(lambda a: write(hook, a), runnable, max_workers=max_concurrency)
        for action, outcome in zip(runnable, outcomes, strict=True):
            if outcome.error is None:
                action.status = STATUSES[action.action]
            elif action.action == "delete" and isinstance(outcome.error, SmartArenaNotFoundError):
                action.status, action.message = STATUSES["delete"], "already gone"
            else:
                action.status, action.message = Outcome.FAILED, str(outcome.error)
                failed.add(action.key)
                log.error(
                    "%s %s %r failed: %s", action.action, action.resource, action.mapping_code, outcome.error
                )
    for action in plan.actions:
        if action.status is None:
            action.status = STATUSES[action.action]
    return write_calls


def write(hook: SmartArenaHook, action: PlannedAction) -> Any:
    """Send one planned write (the password, kept apart in ``secrets``, only on create).

    :param hook: the hook that writes.
    :param action: a ``create``, ``update`` or ``delete`` action.
    """
    resource = RESOURCES[action.resource]
    if action.action == "create":
        return hook.create_record(resource, {**action.body, **action.secrets})
    if action.action == "update":
        return hook.update_record(resource, action.body)
    extra = {k: v for k, v in action.body.items() if k != "mapping_code"}
    return hook.delete_record(resource, action.mapping_code or "", **extra)


__all__ = ["apply_plan", "write"]
