"""Airflow on a throwaway home, for the tests that run DAGs or servers through Airflow's own CLI.

The metadata database is migrated once per test session (the ``migrated_airflow`` fixture in
``tests/conftest.py``) and copied into each new home: ``airflow db migrate`` takes seconds, a copy
milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airflow import __version__ as airflow_version

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
AIRFLOW_V_3 = int(airflow_version.split(".")[0]) >= 3


def airflow_env(home: Path, dags: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow command on ``home`` (none of this process's AIRFLOW_* settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            **extra,
        }
    )
    return env


def run_airflow(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``airflow *args`` with ``env``; the result, whatever its exit code."""
    return subprocess.run(
        [AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def output_of(done: subprocess.CompletedProcess[str]) -> str:
    """A command's whole output, stdout then stderr."""
    return done.stdout + done.stderr


def migrate(home: Path) -> None:
    done = run_airflow(airflow_env(home, home), "db", "migrate")
    assert done.returncode == 0, output_of(done)[-6000:]


def new_airflow_home(template: Path, home: Path) -> Path:
    """A fresh Airflow home with a copy of an already migrated metadata database."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template / "airflow.db", home / "airflow.db")
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_for_health(url: str, server: subprocess.Popen[Any], timeout: float, interval: float) -> bool:
    """Wait until the Airflow API at ``url`` answers its health check or its ``server`` process has
    ended (the caller tells which); False if neither happened within ``timeout`` seconds."""

    def answered() -> bool:
        try:
            urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2)
            return True
        except OSError:
            return server.poll() is not None

    return wait_until(answered, timeout=timeout, interval=interval)


def stop_process_group(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM the group a ``start_new_session`` process leads (Airflow's components fork workers),
    then SIGKILL it if the leader has not ended within ``timeout`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def api_server(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``airflow api-server`` on loopback; yields its URL and stops its process group after."""
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert wait_for_health(url, process, timeout=120, interval=0.5), "the api-server did not start"
        assert process.poll() is None, log.read_text()[-3000:]
        yield url
    finally:
        stop_process_group(process, timeout=20)
