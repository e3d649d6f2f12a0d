"""``smartarena-probe``: table on stdout, JSON with --json, one line and exit 2 when it cannot probe."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.probe import cli
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests.hook.scripted import TOKEN_REPLY, Reply, Request, ScriptedServer, connection_json

from .conftest import writes_of

COMMAND = [sys.executable, "-m", "airflow_provider_smartarena.probe"]
WRONG_SECRET = "wrong-secret-5be2a9"


def _start(args: list[str], connection: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AIRFLOW_CONN_SMARTARENA_DEFAULT": connection}
    return subprocess.Popen(
        [*COMMAND, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_cli_as_a_subprocess(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    """A good and a bad connection, run side by side (each process spends seconds importing Airflow)."""
    fresh_sandbox.tick(changes=3)
    fresh_sandbox.reset_stats()
    good = _start(["--json", "report.json"], fresh_sandbox.connection_json(timezone="UTC"), tmp_path)
    bad_conn = connection_json(fresh_sandbox.url, login=fresh_sandbox.client_id, password=WRONG_SECRET)
    bad = _start(["--conn-id", "smartarena_default"], bad_conn, tmp_path)
    # A bound against a hang, not a speed check: each child imports Airflow, which on a loaded
    # machine took longer than a minute (the probe itself had answered in under a second).
    out, err = good.communicate(timeout=240)
    bad_out, bad_err = bad.communicate(timeout=240)

    assert good.returncode == 0, err
    assert out.startswith(f"Smart ARENA probe (full) of {fresh_sandbox.url}")
    assert "usercourses" in out
    assert "Verdict: OK" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is True
    assert len(report["endpoints"]) == 8
    assert report["timezone"]["verdict"] == "utc"
    for text in (out, err, json.dumps(report)):
        assert fresh_sandbox.client_secret not in text

    assert bad.returncode == 2
    assert bad_out == ""
    (line,) = bad_err.strip().splitlines()[-1:]
    assert line.startswith("smartarena-probe: Bad credentials:")
    assert "Traceback" not in bad_err
    assert WRONG_SECRET not in bad_err
    assert writes_of(fresh_sandbox) == {}


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() reconfigures Airflow's logging for a CLI process; not inside the test session.
    monkeypatch.setattr(cli, "_quiet_logs", lambda: None)
    # There, Airflow 2's console handler on the root logger would print logs to stdout and stderr:
    # silence it for the test (pytest still captures the records).
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "RedirectStdHandler":
            monkeypatch.setattr(handler, "level", logging.CRITICAL + 1)


def _set_connection(monkeypatch: pytest.MonkeyPatch, connection: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", connection)


@pytest.mark.usefixtures("quiet")
def test_cannot_probe_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _set_connection(monkeypatch, connection_json("http://127.0.0.1:9"))
    assert cli.main(["--retries", "0", "--json", str(tmp_path / "r.json")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("smartarena-probe: Host unreachable:")
    assert err.count("\n") == 1
    assert json.loads((tmp_path / "r.json").read_text())["failure"]["kind"] == "unreachable"

    assert cli.main(["--conn-id", "probe_no_such_connection"]) == 2
    assert capsys.readouterr().err.startswith(
        "smartarena-probe: The connection 'probe_no_such_connection' cannot be read:"
    )


@pytest.mark.usefixtures("quiet")
def test_unwritable_json_path(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _set_connection(monkeypatch, sandbox.connection_json())
    assert cli.main(["--short", "--json", str(tmp_path / "missing-dir" / "r.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.usefixtures("quiet")
def test_json_to_stdout_and_exit_1_on_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that echoes the token and the secret in an error: neither reaches stdout or stderr."""

    def route(request: Request) -> Reply:
        token = request.headers.get("Authorization", "")
        return Reply(403, {"message": f"no access for {token} / secret-value-42"})

    server = ScriptedServer(route)
    try:
        _set_connection(monkeypatch, connection_json(server.url))
        assert cli.main(["--json", "-"]) == 1
    finally:
        server.close()
    out, err = capsys.readouterr()
    report: dict[str, Any] = json.loads(out)
    assert [e["status"] for e in report["endpoints"]] == [403] * 8
    assert report["verdict"].startswith("CHANGE:")
    for text in (out, err):
        assert str(TOKEN_REPLY["access_token"]) not in text
        assert "secret-value-42" not in text
    assert "no access for Bearer ***" in out


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "--conn-id" in capsys.readouterr().out
