"""How a user sync reports: the plan as a log table, the XCom summary, and the failure message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_smartarena.records import Outcome
from airflow_provider_smartarena.sync.plan import STATUSES, PlannedAction, SyncPlan

#: How many records the plan log and the failure message list before "... and N more".
_LOG_LIMIT = 100
_ERROR_LIMIT = 20
_PLAN_COLUMNS = ("create", "update", "delete", "unchanged", "protected", "skip", "invalid")


def plan_table(plan: SyncPlan, limit: int = _LOG_LIMIT) -> str:
    """The plan as text: counts per resource and action, then the records that need attention.

    :param plan: the plan to show.
    :param limit: the most records listed.
    """
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


def counts_text(counts: Mapping[str, Mapping[str, int]]) -> str:
    return (
        "; ".join(
            f"{r}: " + ", ".join(f"{n} {s}" for s, n in sorted(per.items())) for r, per in counts.items()
        )
        or "nothing to do"
    )


def failure_message(problems: Sequence[PlannedAction], total: int, deletions_skipped: str | None) -> str:
    failed = sum(1 for a in problems if a.status == Outcome.FAILED)
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


def summary(plan: SyncPlan, mode: str, dry_run: bool, write_calls: int, max_reported: int) -> dict[str, Any]:
    """The task's XCom summary: counts per resource and status, and the records that are not unchanged.

    :param plan: the plan, applied or not (a dry run's writes show the status ``planned``).
    :param mode: the sync mode, reported as given.
    :param dry_run: whether nothing was written.
    :param write_calls: how many write calls were sent.
    :param max_reported: the most records listed; ``records_omitted`` counts the rest.
    """
    counts: dict[str, dict[str, int]] = {}
    reported = []
    for action in plan.actions:
        status = action.status or ("planned" if action.is_write else STATUSES[action.action])
        per = counts.setdefault(action.resource, {})
        per[str(status)] = per.get(str(status), 0) + 1
        if status != "unchanged":
            reported.append({**action.to_dict(), "status": str(status)})
    return {
        "mode": mode,
        "dry_run": dry_run,
        "write_calls": write_calls,
        "counts": counts,
        "records": reported[:max_reported],
        "records_omitted": max(0, len(reported) - max_reported),
        **({"deletions_skipped": plan.deletions_skipped} if plan.deletions_skipped else {}),
    }


__all__ = ["counts_text", "failure_message", "plan_table", "summary"]
