"""The sandbox's real-tenant variants (issue 18): cursor paging, unpaged lists, a throttle, ISO dates."""

from __future__ import annotations

import ast
import datetime as dt
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_smartarena.sandbox import cli
from airflow_provider_smartarena.sandbox.config import FaultDefaults

from .conftest import Api

ZONE = "Europe/Ljubljana"


def test_cursor_envelope_reads_everything_and_ignores_page(api: Api) -> None:
    api.server.set_faults(envelope="cursor", page_size=70)
    truth = [r["id"] for r in api.server.state("usercourses", modules_data=False)]
    first = api.ok(api.get("/api/usercourses", modules_data=0))
    assert set(first) == {
        "data",
        "path",
        "per_page",
        "next_cursor",
        "next_page_url",
        "prev_cursor",
        "prev_page_url",
    }
    assert api.ok(api.get("/api/usercourses", modules_data=0, page=5)) == first  # page is ignored
    ids: list[Any] = []
    body = first
    while True:
        ids.extend(r["id"] for r in body["data"])
        if body["next_cursor"] is None:
            assert body["next_page_url"] is None
            break
        assert body["next_page_url"].startswith(f"{api.server.url}/api/usercourses?")
        assert "modules_data=0" in body["next_page_url"]
        body = api.ok(api.get("/api/usercourses", modules_data=0, cursor=body["next_cursor"]))
    assert ids == truth
    bad = api.get("/api/usercourses", cursor="not-a-cursor")
    assert bad.status_code == 422
    assert "cursor" in bad.json()["errors"]


def test_unpaged_envelope_returns_everything_on_every_page(api: Api) -> None:
    api.server.set_faults(envelope="unpaged", page_size=10)
    one = api.ok(api.get("/api/usercourses", modules_data=0, page=1, per_page=10))
    two = api.ok(api.get("/api/usercourses", modules_data=0, page=2))
    assert isinstance(one, list)
    assert one == two
    assert len(one) == len(api.server.state("usercourses", modules_data=False))


def test_throttle_answers_429_with_retry_after_and_rate_limit_headers(api: Api) -> None:
    api.server.set_faults(throttle="3/2")
    answers = [api.get("/api/locations") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 2
    time.sleep(int(answers[-1].headers["Retry-After"]) + 0.05)
    assert api.get("/api/locations").status_code == 200  # a new window
    assert api.server.stats()["faults"]["throttle"] == 1
    api.server.set_faults(throttle="off")
    assert "X-RateLimit-Limit" not in api.get("/api/locations").headers


def test_iso_datetimes_are_utc_instants_and_dates_local_midnight(api: Api) -> None:
    api.server.set_faults(iso_datetimes=True, timezone=ZONE)
    truth = {r["id"]: r for r in api.server.state("usercourses", modules_data=False)}
    sent = api.ok(api.get("/api/usercourses", modules_data=0, per_page=1000))["data"]
    zone = ZoneInfo(ZONE)
    dated = 0
    for record in sent:
        want = truth[record["id"]]
        assert record["updated_at"].endswith(".000000Z")
        instant = dt.datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
        assert instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") == want["updated_at"]
        if record["access_end_date"]:
            dated += 1
            end = dt.datetime.fromisoformat(record["access_end_date"].replace("Z", "+00:00")).astimezone(zone)
            assert (end.time(), end.date().isoformat()) == (dt.time(0), want["access_end_date"])
    assert dated
    # The filter still reads the application's local time.
    newest = max(r["updated_at"] for r in truth.values())
    assert api.ok(api.get("/api/usercourses", updated_at=newest))["data"] == []


def test_cli_flags() -> None:
    config = cli.config_from_args(
        ["--throttle", "60/60", "--iso-datetimes", "--app-timezone", ZONE, "--envelope", "cursor"]
    )
    assert (config.faults.throttle, config.faults.iso_datetimes) == ("60/60", True)
    assert (config.faults.timezone, config.faults.envelope) == (ZONE, "cursor")
    assert cli.config_from_args([]).faults == FaultDefaults()
    cli.config_from_args(["--envelope", "unpaged"])


@pytest.mark.parametrize("bad", ["60", "0/60", "60/0", "a/b", "60/60/60"])
def test_a_bad_throttle_is_refused_naming_the_flag_and_the_form(
    bad: str, capsys: pytest.CaptureFixture[str], api: Api
) -> None:
    with pytest.raises(SystemExit):
        cli.config_from_args(["--throttle", bad])
    assert "--throttle" in capsys.readouterr().err
    answer = api.put(f"{api.server.url}/_sandbox/faults".replace(api.server.url, ""), {"throttle": bad})
    assert answer.status_code == 422
    assert "N/S" in answer.text


def test_the_sandbox_imports_nothing_from_the_provider() -> None:
    root = Path(cli.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("airflow_provider_smartarena"):
                    assert name.startswith("airflow_provider_smartarena.sandbox"), f"{path.name}: {name}"
