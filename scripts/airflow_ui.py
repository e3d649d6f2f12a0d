"""``make airflow``: Airflow's UI with the example DAGs, a live sandbox and a SQLite warehouse.

Runs ``airflow standalone`` (api-server, scheduler, dag-processor and triggerer in one command) on
a local AIRFLOW_HOME (``.airflow/``) that survives restarts, with the connections
``smartarena_default`` (the sandbox) and ``smartarena_warehouse`` (``.airflow/warehouse.db``) given
as environment variables, and the pool the warehouse example's writers share. The sandbox runs with
``--live``, so learners start, progress and finish courses on their own.

The UI listens on 127.0.0.1 only: every user is an admin (no login), which must not reach the
network. Ctrl-C or SIGTERM stops the whole process tree: Airflow starts in its own session, and
every process of that session (task processes make their own process groups, so killing one group
is not enough) gets SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
HOST = "127.0.0.1"
SANDBOX: dict[str, Any] = {"seed": 7, "users": 300, "courses": 30, "activities": 10000}
# Two changes a second: one goes to courses enrolled after start-up, so the enrolment example's
# three learners finish within a minute or two of being enrolled.
LIVE_RATE = 2.0
STREAM_POOL = ("smartarena_user_courses_stream", "1", "one writer of the Smart ARENA activity stream")
GRACE_SECONDS = 15.0


class StopRequestedError(Exception):
    """SIGTERM arrived: unwind like Ctrl-C does."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise StopRequestedError


def session_members(session_id: int) -> list[int]:
    """Every live process whose session is ``session_id`` (Linux /proc; empty elsewhere)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # Field 6 of /proc/PID/stat is the session id; the command name (field 2) may hold spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_tree(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every process of ``process``'s session, wait up to ``grace`` seconds, SIGKILL the rest.

    :param process: a child started with ``start_new_session=True`` (its pid is the session id).
    :param grace: seconds the processes get to shut down cleanly.
    """
    import psutil

    session = process.pid
    targets = {session, *session_members(session)}
    # Where /proc is missing, fall back to the tree below the leader as it stands now.
    with contextlib.suppress(psutil.Error):
        targets.update(child.pid for child in psutil.Process(session).children(recursive=True))
    _signal_all(targets, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()
        if not any(_running(pid) for pid in targets | set(session_members(session))):
            break
        time.sleep(0.2)
    _signal_all(targets | set(session_members(session)), signal.SIGKILL)
    process.wait()


def _signal_all(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def connection_uri(sandbox: SandboxServer) -> str:
    """The sandbox as an Airflow connection URI; the path is the scheme (http), as the hook reads it."""
    netloc = urlsplit(sandbox.url).netloc
    user, secret = quote(sandbox.client_id, safe=""), quote(sandbox.client_secret, safe="")
    return f"smartarena://{user}:{secret}@{netloc}/http"


def print_connection(sandbox: SandboxServer) -> None:
    """A ready-to-paste connection; the secret is the sandbox's public demo secret."""
    print("Smart ARENA sandbox (live: learners progress on their own):", flush=True)
    print(f"  UI form: type 'Smart ARENA', API base URL {sandbox.url}, ", end="")
    print(f"Client ID {sandbox.client_id}, Client secret {sandbox.client_secret}")
    print(f"  URI:     {connection_uri(sandbox)}")
    print(f"  JSON:    {sandbox.connection_json()}")
    print("  Test it: .venv/bin/smartarena-probe --short (the UI's Test button answers 'Bad Request'")
    print("           when Port is empty: Airflow 3.3 sends port 0; see README)", flush=True)


def airflow_env(home: Path, port: int, sandbox: SandboxServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            # standalone starts its components as `airflow ...`: this venv's must come first.
            "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags_examples"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://{HOST}:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{port}/execution/",
            "AIRFLOW_CONN_SMARTARENA_DEFAULT": sandbox.connection_json(),
            "AIRFLOW_CONN_SMARTARENA_WAREHOUSE": json.dumps(
                {"conn_type": "sqlite", "host": str(home / "warehouse.db")}
            ),
        }
    )
    return env


def prepare(env: dict[str, str], home: Path) -> None:
    """Migrate the metadata database and create the pool the warehouse example needs."""
    with (home / "make-airflow.log").open("a") as log:
        for args in (["db", "migrate"], ["pools", "set", *STREAM_POOL]):
            done = subprocess.run(
                [AIRFLOW, *args], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
            )
            if done.returncode != 0:
                raise SystemExit(f"`airflow {' '.join(args)}` failed; see {home / 'make-airflow.log'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".airflow", help="AIRFLOW_HOME to use")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", "8080")))
    args = parser.parse_args(argv)
    home: Path = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # A shell without job control starts background commands with SIGINT ignored, and Python keeps
    # an ignored SIGINT ignored: make Ctrl-C (or kill -INT) work however this script was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    process: subprocess.Popen[bytes] | None = None
    try:
        with run_sandbox(**SANDBOX, live=LIVE_RATE) as sandbox:
            env = airflow_env(home, args.port, sandbox)
            print_connection(sandbox)
            print("Preparing Airflow (database, pool) ...", flush=True)
            prepare(env, home)
            print(
                f"Airflow UI: http://{HOST}:{args.port}  (Ctrl-C stops Airflow and the sandbox)", flush=True
            )
            # Its own session: Ctrl-C reaches only this script, which then stops every process in it.
            process = subprocess.Popen([AIRFLOW, "standalone"], env=env, start_new_session=True)
            try:
                return process.wait()
            finally:
                # A second Ctrl-C must not cut the clean-up short and leave processes behind.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                print("Stopping Airflow and every process it started ...", flush=True)
                stop_tree(process)
    except (KeyboardInterrupt, StopRequestedError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
