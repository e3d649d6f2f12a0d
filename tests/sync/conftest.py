"""Fixtures of the user sync tests: the operator run against the sandbox with a minimal task context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator

#: Users this test suite provisions; the sandbox's seeded users (u-00001 ...) are not managed by it.
PREFIX = "hr-"


class FakeTaskInstance:
    """Records what the operator pushes to XCom (all the task runner would do with it)."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class SyncRun:
    """``sync(**operator_kwargs)`` runs one sync task; remembers the last operator and XCom pushes."""

    def __init__(self) -> None:
        self.operator: SmartArenaUserSyncOperator | None = None
        self.ti = FakeTaskInstance()
        self.runs = 0

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.runs += 1
        self.ti = FakeTaskInstance()
        self.operator = SmartArenaUserSyncOperator(task_id=f"sync_{self.runs}", **kwargs)
        context: Any = {"run_id": f"test_run_{self.runs}", "ti": self.ti}
        return self.operator.execute(context)


@pytest.fixture
def sync(fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """Run the operator on a freshly reset sandbox (connection smartarena_default points to it)."""
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    return SyncRun()


def person(number: int, **changes: Any) -> dict[str, Any]:
    """A desired HR user ``hr-<number>`` with every field the sync compares."""
    return {
        "mapping_code": f"{PREFIX}{number}",
        "email": f"person{number}@hr.example.com",
        "firstname": f"First{number}",
        "lastname": f"Last{number}",
        "date_of_birth": "1990-01-02",
        "branch_mapping_code": "br-001",
        "language_code": 3,
        "roles": [6],
        **changes,
    }


def writes(sandbox: Any) -> int:
    """Write calls (POST/PUT/DELETE on /api/...) the sandbox has served since its stats were reset."""
    return int(sandbox.stats()["writes"])


def users_by_code(sandbox: Any) -> dict[str, dict[str, Any]]:
    return {u["mapping_code"]: u for u in sandbox.state("users")}
