"""A paginator that contradicts itself never ends a load early and green (issue 17 #3).

A loopback server serves activities with paginator metadata that lie. When reading on past the
lie finds every record, the load is whole; when it cannot be reconciled, every mode fails and the
stored watermark does not move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from tests.hook.scripted import Reply, Request, ScriptedServer, connection_json
from tests.transfers.conftest import Warehouse
from tests.transfers.test_usercourses_to_sql import run, stored_watermark

SQLITE_ONLY = pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
PER_PAGE = 100


def _activity(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "user_mapping_code": f"u{i:04d}",
        "course_mapping_code": "c1",
        "updated_at": f"2024-01-01 10:{i // 60 % 60:02d}:{i % 60:02d}",
        "progress": i % 100,
    }


class Tenant:
    """Serves ``records`` (filtered by ``updated_at``) in pages whose metadata say ``lies``."""

    def __init__(self) -> None:
        self.records = [_activity(i) for i in range(300)]
        self.lies: dict[str, Any] = {}
        self.server = ScriptedServer(self.route)

    def route(self, request: Request) -> Reply:
        after = request.query.get("updated_at")
        rows = [r for r in self.records if after is None or r["updated_at"] > after]
        page = int(request.query.get("page", 1))
        body = {
            "current_page": page,
            "data": rows[(page - 1) * PER_PAGE : page * PER_PAGE],
            "last_page": max(1, -(-len(rows) // PER_PAGE)),
            "per_page": PER_PAGE,
            "total": len(rows),
            **self.lies,
        }
        return Reply(200, body)


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    served = Tenant()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMARTARENA_DEFAULT", connection_json(served.server.url, allow_insecure_http=True)
    )
    yield served
    served.server.close()


def _table(warehouse: Warehouse) -> list[int]:
    return sorted(int(r["user_mapping_code"][1:]) for r in warehouse.rows("smartarena_user_courses"))


@SQLITE_ONLY
@pytest.mark.parametrize("last_page", [1, 0, -1])
def test_reading_on_past_a_lying_last_page_loads_everything(
    warehouse: Warehouse, tenant: Tenant, last_page: int
) -> None:
    tenant.lies = {"last_page": last_page}
    summary = run(warehouse, max_concurrency=3)
    assert summary["complete"]
    assert summary["records_read"] == 300
    assert _table(warehouse) == list(range(300))


@SQLITE_ONLY
@pytest.mark.parametrize("mode", ["incremental", "window", "full_refresh"])
def test_unreconcilable_metadata_fail_every_mode_and_keep_the_watermark(
    warehouse: Warehouse, tenant: Tenant, mode: str
) -> None:
    run(warehouse)
    before = stored_watermark(warehouse)
    assert before == tenant.records[-1]["updated_at"]
    tenant.records += [_activity(i) for i in range(300, 420)]  # 120 new ones, but the server says 900
    tenant.lies = {"last_page": 1, "total": 900}
    kwargs: dict[str, Any] = {"mode": mode}
    if mode == "window":
        kwargs.update(window_start="2023-01-01", window_end="2025-01-01")
    with pytest.raises(SmartArenaResponseError, match="contradicts itself") as info:
        run(warehouse, **kwargs)
    assert (info.value.method, info.value.path) == ("GET", "/api/usercourses")
    assert stored_watermark(warehouse) == before
    json.dumps(str(info.value))
