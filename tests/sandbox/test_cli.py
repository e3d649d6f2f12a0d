"""The smartarena-sandbox command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_smartarena.sandbox.cli import config_from_args, options_to_argv
from airflow_provider_smartarena.sandbox.testing import READY_MARKER, SandboxError, run_sandbox


def test_defaults() -> None:
    config = config_from_args([])
    assert (config.host, config.port, config.client_id, config.client_secret) == (
        "127.0.0.1",
        8765,
        "sandbox-client",
        "sandbox-secret",
    )
    assert (config.faults.token_ttl, config.faults.page_size, config.faults.envelope) == (3600, 100, "mixed")
    assert config.faults.timezone == "UTC"
    assert config.db is None


def test_flags() -> None:
    argv = options_to_argv(
        {
            "port": 0,
            "seed": 7,
            "users": 9,
            "latency_ms": 5,
            "error_rate": 0.5,
            "envelope": "list",
            "access_log": True,
        }
    )
    assert argv[:4] == ["--port", "0", "--seed", "7"]
    config = config_from_args(argv)
    assert (config.sizes.seed, config.sizes.users, config.faults.latency_ms) == (7, 9, 5)
    assert (config.faults.error_rate, config.faults.envelope, config.access_log) == (0.5, "list", True)


def test_help_mentions_every_fault_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_smartarena.sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for flag in (
        "--latency-ms",
        "--error-rate",
        "--rate-limit-rate",
        "--drop-rate",
        "--token-ttl",
        "--envelope",
    ):
        assert flag in result.stdout
    for flag in ("--page-size", "--timezone", "--db", "--seed", "--activities", "--client-secret"):
        assert flag in result.stdout


def test_bad_timezone_fails_fast() -> None:
    with pytest.raises(SandboxError, match="exited"), run_sandbox(timezone="Nowhere/Land", users=1):
        pass


def test_start_banner_prints_url_and_credentials() -> None:
    with run_sandbox(users=5, courses=2, activities=5, client_id="me", client_secret="pssst") as server:
        assert server.client_id == "me"
        assert server.client_secret == "pssst"
        assert server.url.startswith("http://127.0.0.1:")


def test_bad_option_in_thread_raises() -> None:
    with pytest.raises(SandboxError, match="bad sandbox option"), run_sandbox(in_thread=True, error_rate=7):
        pass


def _banner(*args: str) -> str:
    """The start banner of ``smartarena-sandbox *args`` (the process is stopped once it is ready)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_smartarena.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(READY_MARKER):
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    return "".join(lines)


def test_start_banner_tells_when_activities_are_capped() -> None:
    capped = _banner("--users", "3", "--courses", "2", "--activities", "50")
    assert "activities=50" in capped
    assert "6 activities seeded, not 50: at most one per user and course (--users x --courses = 6)" in capped
    assert "note:" not in _banner("--users", "3", "--courses", "2", "--activities", "6")
