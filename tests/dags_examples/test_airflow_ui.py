"""``make airflow`` (scripts/airflow_ui.py): loopback only, a pasteable connection, and Ctrl-C
leaves no process behind (the issue: ``airflow scheduler`` and its workers survived Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests._airflow import free_port, wait_for_health, wait_until
from tests._helpers import load_module

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(600)]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "airflow_ui.py"


def _processes_of(home: Path) -> list[psutil.Process]:
    """Every process whose environment names this AIRFLOW_HOME (Airflow's components and workers)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("AIRFLOW_HOME") == str(home):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.mark.skipif(
    not os.environ.get("SMARTARENA_SLOW_TESTS"),
    reason="starts a whole `airflow standalone` (minutes on 2 shared cores); SMARTARENA_SLOW_TESTS=1 runs it",
)
def test_ctrl_c_stops_every_airflow_process_and_the_ui_listens_on_loopback_only(
    tmp_path: Path, migrated_airflow: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "airflow.db").write_bytes((migrated_airflow / "airflow.db").read_bytes())
    port = free_port()
    log = tmp_path / "make-airflow.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    with log.open("w") as out:
        # Its own process group, as a terminal gives a foreground job: SIGINT there is Ctrl-C.
        script = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--home", str(home), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        ui_up = wait_for_health(f"http://127.0.0.1:{port}", script, timeout=300, interval=1)
        assert ui_up, log.read_text()[-4000:]
        assert script.poll() is None, log.read_text()[-4000:]
        # Let the scheduler start its executor workers, which were the processes that survived.
        time.sleep(5)
        running = _processes_of(home)
        assert len(running) >= 4, [p.cmdline() for p in running]
        listening = {
            conn.laddr.ip
            for conn in psutil.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
        }
        assert listening == {"127.0.0.1"}
        output = log.read_text()
        assert "sandbox-secret" in output  # the sandbox's public demo secret, ready to paste
        assert "smartarena://sandbox-client:sandbox-secret@127.0.0.1:" in output
        os.killpg(script.pid, signal.SIGINT)
        assert script.wait(timeout=120) == 0, log.read_text()[-4000:]
        assert wait_until(lambda: not _processes_of(home), timeout=10, interval=0.5), [
            p.cmdline() for p in _processes_of(home)
        ]
    finally:
        for process in _processes_of(home):
            process.kill()
        if script.poll() is None:
            script.kill()


# A leader whose child moves to its own process group and ignores SIGTERM, as Airflow's task
# supervisor's children do (os.setpgid): killing the leader's group alone would miss it.
_TREE = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, signal, time
os.setpgid(0, 0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(os.getpid(), flush=True)
time.sleep(600)
'''], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(600)
"""


def test_stop_tree_reaches_processes_in_their_own_group_and_kills_those_ignoring_sigterm() -> None:
    stop_tree = load_module(SCRIPT, "airflow_ui").stop_tree
    leader = subprocess.Popen(
        [sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert leader.stdout is not None
        grandchild = int(leader.stdout.readline())
        assert os.getpgid(grandchild) == grandchild  # not in the leader's group
        started = time.monotonic()
        stop_tree(leader, grace=1.0)
        assert leader.poll() is not None
        assert wait_until(lambda: not psutil.pid_exists(grandchild) or _zombie(grandchild), timeout=5)
        assert time.monotonic() - started < 10
    finally:
        if leader.poll() is None:
            leader.kill()


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True
