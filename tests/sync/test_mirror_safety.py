"""Mirror sync against the sandbox: a source row that cannot be read is never evidence that a user left.

Each case first provisions hr-1 ... hr-5, then mirrors a source in which one of them sits on a bad
row, with ``max_deletes=1`` so that (before the fix) the one wrong deletion fitted under the limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_smartarena.sync.plan import ManagedFilter, SourceRow, SyncOptions, build_plan

from .conftest import PREFIX, person, users_by_code

FIVE = [person(n) for n in range(1, 6)]
MIRROR: dict[str, Any] = {"mode": "mirror", "managed_filter": PREFIX, "max_deletes": 1}
CSV_HEADER = "mapping_code,email,firstname,lastname"


def _csv_line(number: int, lastname: str | None = None) -> str:
    return f"{PREFIX}{number},person{number}@hr.example.com,First{number},{lastname or f'Last{number}'}"


def _mirror_fails(sync: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(AirflowException) as failure:
        sync(**{**MIRROR, **kwargs})
    return str(failure.value), sync.ti.xcom["return_value"]


def test_unquoted_comma_in_a_csv_name_protects_the_user(
    sync: Any, fresh_sandbox: Any, tmp_path: Path
) -> None:
    sync(users=FIVE)
    path = tmp_path / "hr.csv"
    lines = [CSV_HEADER, *(_csv_line(n) for n in (1, 2, 4, 5)), _csv_line(3, "Smith, Jr.")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    message, summary = _mirror_fails(sync, source_path=str(path))

    assert "hr-3" in users_by_code(fresh_sandbox)
    assert "row 6" in message
    assert "more cell(s) than the header" in message
    assert not [r for r in summary["records"] if r["status"] == "deleted"]


def test_shifted_code_column_still_protects_the_user(sync: Any, fresh_sandbox: Any, tmp_path: Path) -> None:
    # The code comes after the broken name: the cell under "mapping_code" holds " Jr." instead.
    sync(users=FIVE)
    path = tmp_path / "hr.csv"
    rows = [f"Last{n},{PREFIX}{n},person{n}@hr.example.com" for n in (1, 2, 4, 5)]
    rows.append(f"Smith, Jr.,{PREFIX}3,person3@hr.example.com")
    path.write_text("\n".join(["lastname,mapping_code,email", *rows]) + "\n", encoding="utf-8")

    message, _ = _mirror_fails(sync, source_path=str(path))

    assert "hr-3" in users_by_code(fresh_sandbox)
    assert "1 invalid" in message


def test_trailing_space_in_a_code_protects_the_user(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)

    message, summary = _mirror_fails(sync, users=[*FIVE[:2], person(3, mapping_code="hr-3 "), *FIVE[3:]])

    assert "hr-3" in users_by_code(fresh_sandbox)
    assert "white space" in message
    assert summary["counts"] == {"user": {"unchanged": 4, "invalid": 1}}


def test_json_line_with_a_trailing_comma_protects_the_user(
    sync: Any, fresh_sandbox: Any, tmp_path: Path
) -> None:
    sync(users=FIVE)
    path = tmp_path / "hr.jsonl"
    broken = json.dumps(person(3))[:-1] + ",}"
    path.write_text(
        "\n".join([*(json.dumps(p) for p in FIVE[:2]), broken, *(json.dumps(p) for p in FIVE[3:])])
    )

    message, _ = _mirror_fails(sync, source_path=str(path))

    assert "hr-3" in users_by_code(fresh_sandbox)
    assert "row 3" in message
    assert "not valid JSON" in message


def test_json_line_with_a_renamed_code_column_protects_the_user(
    sync: Any, fresh_sandbox: Any, tmp_path: Path
) -> None:
    sync(users=FIVE)
    path = tmp_path / "hr.jsonl"
    renamed = [{"emp": p["mapping_code"], "email": p["email"]} for p in FIVE]
    lines = [json.dumps(r) for r in renamed]
    lines[2] = lines[2][:-1] + ","  # cut off: '{"emp": "hr-3", "email": "...",'
    path.write_text("\n".join(lines))

    _mirror_fails(sync, source_path=str(path), field_map={"emp": "mapping_code"})

    assert "hr-3" in users_by_code(fresh_sandbox)


@pytest.mark.parametrize(
    "bad_row",
    [
        pytest.param("not json at all", id="garbage-line"),
        pytest.param('["hr-3", "person3@hr.example.com"]', id="not-an-object"),
        pytest.param('{"email": "person3@hr.example.com", "firstname": "F",}', id="no-code-in-broken-line"),
        pytest.param('{"email": "person3@hr.example.com", "mapping_code": null}', id="null-code"),
    ],
)
def test_a_row_naming_no_code_stops_every_deletion(
    sync: Any, fresh_sandbox: Any, tmp_path: Path, bad_row: str
) -> None:
    sync(users=FIVE)
    path = tmp_path / "hr.jsonl"
    # hr-4 and hr-5 left the source; hr-1 changed; row 3 cannot say whom it names.
    lines = [json.dumps(person(1, firstname="Renamed")), json.dumps(FIVE[1]), bad_row]
    path.write_text("\n".join(lines) + "\n")

    message, summary = _mirror_fails(sync, source_path=str(path), max_deletes=None)

    state = users_by_code(fresh_sandbox)
    assert {f"{PREFIX}{n}" for n in range(1, 6)} <= set(state)  # nobody deleted
    assert state["hr-1"]["firstname"] == "Renamed"  # the other writes were applied
    assert "mirror deletions did not run: source row(s) 3" in message
    assert summary["deletions_skipped"].startswith("mirror deletions did not run")


def test_skipped_deletions_fail_even_without_fail_on_error(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)

    with pytest.raises(AirflowException, match="mirror deletions did not run"):
        sync(**MIRROR, users=[*FIVE[:4], {"email": "who@hr.example.com"}], fail_on_error=False)

    assert len([c for c in users_by_code(fresh_sandbox) if c.startswith(PREFIX)]) == 5


def test_valid_mirror_still_deletes(sync: Any, fresh_sandbox: Any) -> None:
    sync(users=FIVE)

    summary = sync(**MIRROR, users=FIVE[:4])

    assert [r["mapping_code"] for r in summary["records"] if r["status"] == "deleted"] == ["hr-5"]


def test_plan_compares_codes_trimmed_and_case_sensitive() -> None:
    current = {"user": [{"mapping_code": c} for c in ("hr-1", "HR-2", "hr-3")], "branch": []}
    rows = [SourceRow(1, {"mapping_code": " hr-1"}), SourceRow(2, {"mapping_code": "hr-2"})]
    rows.append(SourceRow(3, {}, error="broken", named=("x", "hr-3 ")))
    options = SyncOptions(mode="mirror", managed_filter=ManagedFilter(regex="(?i)hr-.*"))

    plan = build_plan(rows, current, options)

    assert [a.mapping_code for a in plan.actions if a.action == "delete"] == ["HR-2"]
