"""Issue 17 follow-up: an activity without its key is not a partial load that ends green.

The scripted loopback server of ``test_hardening`` serves activities, some without
``user_mapping_code`` or ``course_mapping_code``; the run must fail before it moves the watermark.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from tests.transfers import test_hardening
from tests.transfers._operators import TABLE
from tests.transfers._scripted_api import ScriptedApi
from tests.transfers.conftest import Warehouse
from tests.transfers.test_hardening import extract, snapshot, state_row, touch

platform = test_hardening.platform  # the scripted platform fixture: 30 activities on pages of 4


@pytest.mark.parametrize("warehouse", ["sqlite", "mariadb"], indirect=True)
@pytest.mark.parametrize("mode", ["incremental", "full_refresh"])
def test_records_without_their_key_fail_the_run_and_leave_the_state(
    warehouse: Warehouse, platform: ScriptedApi, mode: str
) -> None:
    extract(warehouse)
    before = state_row(warehouse)
    assert before is not None
    touch(platform, 12)
    records = platform.listings["/api/usercourses"]
    records[2]["course_mapping_code"] = None
    del records[5]["user_mapping_code"]
    records[5]["email"] = "secret.person@example.com"
    options: dict[str, Any] = {"full_refresh": {"mark_deleted": True}}.get(mode, {})

    with pytest.raises(SmartArenaResponseError, match=r"2 record\(s\) of stream") as info:
        extract(warehouse, mode=mode, **options)

    message = str(info.value)
    assert info.value.path == "/api/usercourses"
    assert "lacked a key field (user_mapping_code, course_mapping_code)" in message
    # The first such record's fields with a value: named, so the platform can be asked.
    assert "values only for: course_title, progress, status, updated_at, user_mapping_code." in message
    for value in ("u-00003", "secret.person", "Course 0"):
        assert value not in message  # fields are named, their values never shown
    assert state_row(warehouse) == before  # the watermark did not move
    rows = warehouse.rows(TABLE)
    assert all(r["_deleted_at"] is None for r in rows)  # nor was anything marked deleted
    # The records that had their key were written (upserts, harmless to read again).
    assert sum(1 for r in rows if r["progress"] == 100.0) == 10


locations = test_hardening.locations  # the scripted platform fixture: 30 locations on pages of 4


@pytest.mark.parametrize("warehouse", ["sqlite", "mariadb"], indirect=True)
def test_a_snapshot_with_a_record_without_its_key_fails_and_marks_nothing_deleted(
    warehouse: Warehouse, locations: ScriptedApi
) -> None:
    assert snapshot(warehouse)["rows_marked_deleted"] == 0
    records = locations.listings["/api/locations"]
    records[4]["mapping_code"] = None  # loc-005 comes without its code
    del records[-1]  # gone: a complete snapshot would mark it

    with pytest.raises(
        SmartArenaResponseError, match=r"1 record\(s\) of table .*no row was marked deleted"
    ) as info:
        snapshot(warehouse)

    assert "lacked a key field (mapping_code)" in str(info.value)
    assert "values only for: name." in str(info.value)
    assert "Location 5" not in str(info.value)
    rows = warehouse.rows("smartarena_locations")
    assert len(rows) == 30
    assert all(r["_deleted_at"] is None for r in rows)
