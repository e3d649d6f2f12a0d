"""Helpers shared by the operator, sensor and trigger tests."""

from __future__ import annotations

from typing import Any

from airflow import __version__ as airflow_version

from airflow_provider_smartarena.sandbox.testing import SandboxServer

AIRFLOW_V_3 = int(airflow_version.split(".")[0]) >= 3


class FakeTaskInstance:
    """Just what the operators touch of a task instance outside a task runner: XCom pushes."""

    # Read by Airflow 2's reschedule mode.
    dag_id, task_id, run_id, map_index, max_tries = "dag", "task", "run", -1, 0

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def writes(sandbox: SandboxServer) -> int:
    """How many write calls the sandbox has served."""
    return int(sandbox.stats()["writes"])
