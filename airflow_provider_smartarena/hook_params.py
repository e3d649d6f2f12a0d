"""``hook_params``: the one way operators, sensors and transfers pass arguments to their hook.

The Airflow convention (common-sql's operators): ``hook_params={"max_retry_wait": 300}`` on a
task reaches ``SmartArenaHook(conn_id, max_retry_wait=300)``. The keys are checked when the task is
declared, so a typo fails the DAG file, not the run hours later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def checked_hook_params(hook_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``hook_params`` checked against the hook's arguments (``{}`` for None).

    :param hook_params: arguments of ``SmartArenaHook``, e.g. ``{"max_retry_wait": 300}``.
    :raises SmartArenaInputError: not a dict, or a key the hook does not take (the error names
        ``hook_params`` and the allowed keys).
    """
    if hook_params is None:
        return {}
    # Imported only when given: DAG files import the operators far more often than they run them,
    # and the hook pulls in requests and msgspec.
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

    return SmartArenaHook.check_hook_params(hook_params)
