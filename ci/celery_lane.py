"""``make test-celery``: the example DAGs on a real CeleryExecutor deployment, started natively.

Starts, each in its own process group: a sandbox (in this process, so that every OAuth token it
issues is known), ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and two
``airflow celery worker`` (hostnames ``lane-worker-a`` / ``lane-worker-b``), on a fresh PostgreSQL
metadata database, a fresh PostgreSQL warehouse database and the Redis broker. Then it triggers every
DAG of ``dags_examples/`` through the REST API with no logical date, keeps learners progressing, and
asserts:

* every DAG run succeeded and every task instance succeeded (or was skipped by a branch);
* tasks ran on both workers;
* deferrable sensors deferred, their triggers ran on the triggerer, and they resumed to success;
* the warehouse equals the sandbox's ground truth (activities, users, branches, courses);
* no client secret and no token the sandbox issued appears in any log.

Everything it started is stopped on success, failure, Ctrl-C or SIGTERM. Figures are printed last.
Run it with the lane's environment (``ci/celery.txt``): ``make test-celery``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the transfer tests' table comparison is reused below

from airflow_provider_smartarena.resources import USER_COURSE_COLUMNS  # noqa: E402
from airflow_provider_smartarena.sandbox.cli import config_from_args, options_to_argv  # noqa: E402
from airflow_provider_smartarena.sandbox.server import base_url, build_server  # noqa: E402
from airflow_provider_smartarena.sandbox.testing import SandboxServer  # noqa: E402
from airflow_provider_smartarena.transfers._schema import DIMENSIONS  # noqa: E402
from tests.transfers.conftest import assert_same_table  # noqa: E402

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
DAGS = ROOT / "dags_examples"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
STREAM_POOL = ("smartarena_user_courses_stream", "1", "one writer of the Smart ARENA activity stream")
WORKERS = ("lane-worker-a", "lane-worker-b")
TERMINAL = {"success", "failed"}
TRIGGER_STARTED = re.compile(rb'"event":"trigger [^"]+ starting"')
ACTIVE_TI = {"scheduled", "queued", "running", "deferred", "up_for_retry", "up_for_reschedule", "restarting"}
# Task states a run may end with: a branch skips what it does not take.
TI_OK = {"success", "skipped"}
SANDBOX = {"seed": 19, "users": 40, "courses": 6, "activities": 150, "token_ttl": 120}
# The `hostname_callable` of each worker: distinct names tell which worker ran a task (both run on
# this one machine, where the default, the FQDN, would be the same).
HOSTNAMES_MODULE = "\n".join(
    f"def {name.replace('-', '_')}() -> str:\n    return {name!r}\n" for name in WORKERS
)


def log(message: str) -> None:
    print(f"[celery-lane {time.strftime('%H:%M:%S')}] {message}", flush=True)


class LaneError(AssertionError):
    """An assertion of the lane did not hold."""


# ---------------------------------------------------------------------------------------- processes


@dataclass
class Processes:
    """Every process the lane started, each in its own session (so its group can be stopped whole)."""

    logs: Path
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopped: bool = False

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.logs
            )
        self.started[name] = process
        return process

    def check_alive(self) -> None:
        for name, process in self.started.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise LaneError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop_all(self) -> None:
        """SIGTERM every group (and any descendant that left it), then SIGKILL what is left."""
        if self.stopped:
            return
        self.stopped = True
        doomed: set[int] = set()
        for process in self.started.values():
            doomed |= {process.pid, *_descendants(process.pid)}
        for process in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for process in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        left = [pid for pid in doomed if _alive(pid)]
        if left:
            log(f"WARNING: processes still alive after SIGKILL: {left}")


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, condition: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise LaneError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------- databases


def _pg(dbname: str = "postgres") -> Any:
    import psycopg2

    connection = psycopg2.connect(dbname=dbname, connect_timeout=5, **PG)
    connection.autocommit = True
    return connection


@contextlib.contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards (with any session still on it)."""
    with contextlib.closing(_pg()) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with contextlib.closing(_pg()) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def warehouse_rows(database: str, table: str) -> list[dict[str, Any]]:
    with contextlib.closing(_pg(database)) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def redis_ping(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).ping()


def forget_queue(url: str, queue: str) -> None:
    """Delete the broker's keys of this run's queue (its messages and Kombu's binding of it)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    with contextlib.suppress(redis.RedisError):
        for key in list(client.scan_iter(match=f"*{queue}*")):
            client.delete(key)


# ---------------------------------------------------------------------------------------- sandbox


@contextlib.contextmanager
def recording_sandbox() -> Iterator[tuple[SandboxServer, list[str]]]:
    """A sandbox served from a thread of this process, with the list of every token it issues."""
    config = config_from_args(options_to_argv({"host": "127.0.0.1", "port": 0, **SANDBOX}))
    server, sock, state = build_server(config)
    issued: list[str] = []
    issue = state.tokens.issue

    def recording_issue(ttl: int) -> str:
        token = issue(ttl)
        issued.append(token)
        return token

    state.tokens.issue = recording_issue  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True)
    thread.start()
    try:
        sandbox = SandboxServer(base_url(sock), config.client_id, config.client_secret, lambda: None)
        wait_until("the sandbox", lambda: _ok(lambda: sandbox.admin("GET", "health")), 30, 0.1)
        yield sandbox, issued
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _ok(call: Callable[[], Any]) -> bool:
    try:
        call()
    except (OSError, ValueError):
        return False
    return True


class Ticker:
    """Learners progressing: ``changes`` learning events a second on the sandbox, in a thread."""

    def __init__(self, sandbox: SandboxServer, changes: int) -> None:
        self.sandbox, self.changes, self.events = sandbox, changes, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(OSError, ValueError):
                self.events += len(self.sandbox.tick(self.changes))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


# ---------------------------------------------------------------------------------------- REST API


class Api:
    """The Airflow REST API (v2) with a token of the simple auth manager (every user is admin)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._token: str | None = None

    def _call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise LaneError(f"{method} {path} -> {exc.code}: {exc.read()[:2000]!r}") from None

    def token(self) -> str:
        if self._token is None:
            self._token = str(self._call("GET", "/auth/token", auth=False)["access_token"])
        return self._token

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body)

    def all(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every item of a paged list endpoint."""
        items: list[dict[str, Any]] = []
        joiner = "&" if "?" in path else "?"
        while True:
            page = self.get(f"{path}{joiner}limit=100&offset={len(items)}")
            items.extend(page[key])
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def healthy(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5)
        except OSError:
            return False
        return True


# ---------------------------------------------------------------------------------------- the lane


@dataclass
class Observed:
    """What polling saw while the runs went on."""

    deferred: set[tuple[str, str, str, int]] = field(default_factory=set)  # dag, run, task, map index

    def poll(self, api: Api) -> list[dict[str, Any]]:
        tis = api.all("/api/v2/dags/~/dagRuns/~/taskInstances", "task_instances")
        for ti in tis:
            if ti["state"] == "deferred":
                self.deferred.add((ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"]))
        return tis


def airflow_env(
    dags: Path, home: Path, meta_db: str, warehouse_db: str, port: int, broker: str, queue: str
) -> dict[str, str]:
    database = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{meta_db}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    from cryptography.fernet import Fernet

    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(home),  # the workers' hostname callables
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            # Scheduled DAGs start on their own too: the lane checks those runs as well.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__PARALLELISM": "8",
            # One secret for every component: tasks' tokens are signed by the api-server and
            # checked by it, and the workers' supervisors must agree (issue 19, item 5).
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres@127.0.0.1:5432/{meta_db}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_SMARTARENA_WAREHOUSE": json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "127.0.0.1",
                    "port": 5432,
                    "login": "postgres",
                    "schema": warehouse_db,
                }
            ),
        }
    )
    return env


def dag_files(folder: Path) -> set[str]:
    """The files of ``folder`` that define DAGs, by the dag-processor's own safe-mode rule."""
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*.py")
        if "airflow" in (text := path.read_text(errors="replace").lower()) and "dag" in text
    }


def scan_secrets(paths: list[Path], secrets_: dict[str, str]) -> list[str]:
    """``file: what`` for every secret found in a file under ``paths``."""
    found = []
    for root in paths:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            text = path.read_bytes()
            found += [f"{path}: {name}" for name, value in secrets_.items() if value.encode() in text]
    return found


def run_lane(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    figures: dict[str, Any] = {}
    run_id = f"{os.getpid()}_{secrets.token_hex(3)}"
    work = Path(tempfile.mkdtemp(prefix="celery-lane-"))
    home, logs = work / "airflow_home", work / "logs"
    home.mkdir()
    logs.mkdir()
    (home / "lane_hostnames.py").write_text(HOSTNAMES_MODULE)
    processes = Processes(logs)
    ticker: Ticker | None = None
    # A queue of its own on the shared broker: no other Celery app takes the lane's tasks, nor it theirs.
    queue = f"lane-{run_id}"
    log(f"work directory {work}")
    redis_ping(args.broker)
    try:
        with contextlib.ExitStack() as stack:
            meta_db = stack.enter_context(fresh_database(f"celery_lane_meta_{run_id}"))
            warehouse_db = stack.enter_context(fresh_database(f"celery_lane_wh_{run_id}"))
            sandbox, issued_tokens = stack.enter_context(recording_sandbox())
            # Unwound first: no component outlives the sandbox or the databases it uses.
            stack.callback(processes.stop_all)
            port = free_port()
            env = airflow_env(args.dags.resolve(), home, meta_db, warehouse_db, port, args.broker, queue)
            env["AIRFLOW_CONN_SMARTARENA_DEFAULT"] = sandbox.connection_json()
            files = dag_files(args.dags.resolve())
            log("airflow db migrate")
            migrated = subprocess.run(
                [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
            )
            if migrated.returncode != 0:
                raise LaneError(f"airflow db migrate failed:\n{(migrated.stdout + migrated.stderr)[-4000:]}")
            figures["migrate_s"] = round(time.monotonic() - started, 1)
            # The warehouse example's two writers of one stream share a one-slot pool (see the DAG
            # file); a deployment creates it once, as make airflow and docker-compose's init do.
            pool = subprocess.run(
                [AIRFLOW, "pools", "set", *STREAM_POOL], env=env, capture_output=True, text=True, check=False
            )
            if pool.returncode != 0:
                raise LaneError(f"airflow pools set failed:\n{(pool.stdout + pool.stderr)[-2000:]}")

            api = Api(f"http://127.0.0.1:{port}")

            def up() -> bool:
                processes.check_alive()
                return api.healthy()

            # The api-server first: a worker whose task cannot reach the execution API in time fails
            # the task, and a cold api-server on two busy cores answers its first calls slowly.
            processes.start(
                "api-server", [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)], env
            )
            wait_until("the api-server", up, 180)
            api.get("/api/v2/version")
            processes.start("triggerer", [AIRFLOW, "triggerer", "--skip-serve-logs"], env)
            for name in WORKERS:
                worker_env = {
                    **env,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"lane_hostnames.{name.replace('-', '_')}",
                }
                processes.start(
                    name,
                    [
                        AIRFLOW,
                        "celery",
                        "worker",
                        "--celery-hostname",
                        f"{name}@%h",
                        "--skip-serve-logs",
                        "--queues",
                        env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],
                    ],
                    worker_env,
                )
            for component in ("scheduler", "dag-processor"):
                processes.start(component, [AIRFLOW, component], env)

            def parsed() -> set[str]:
                """The DAG ids, once every file of the folder was parsed without an import error."""
                processes.check_alive()
                errors = api.get("/api/v2/importErrors")["import_errors"]
                if errors:
                    raise LaneError(f"import errors: {errors}")
                dags = api.all("/api/v2/dags?paused=false", "dags")
                done = {d["relative_fileloc"] for d in dags}
                return {d["dag_id"] for d in dags} if files <= done else set()

            dag_ids = wait_until("the dag-processor to parse every example", parsed, 180, 2)
            log(f"DAGs: {', '.join(sorted(dag_ids))}")
            figures["ready_s"] = round(time.monotonic() - started, 1)
            log(f"deployment ready after {figures['ready_s']} s; triggering {len(dag_ids)} DAGs")

            triggered = []
            for dag_id in sorted(dag_ids):
                run = api.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
                if run.get("logical_date") is not None:
                    raise LaneError(f"{dag_id}: the run got a logical date: {run}")
                triggered.append((dag_id, run["dag_run_id"]))

            observed = Observed()
            # Learners progress only once some sensor deferred (or nothing will defer): a learner
            # who finished before the sensor first looked would cost no deferral and prove nothing.
            ticker = Ticker(sandbox, args.tick_changes)
            gate = time.monotonic() + args.defer_gate

            def settled() -> bool:
                processes.check_alive()
                tis = observed.poll(api)
                if not ticker.running and (observed.deferred or time.monotonic() > gate):
                    log(f"learners start progressing ({len(observed.deferred)} task(s) deferred so far)")
                    ticker.start()
                return _all_done(api, tis, triggered)

            wait_until("every run to finish", settled, args.timeout, 3)
            ticker.stop()
            figures["learning_events"] = ticker.events
            log("every run finished; learners stop; one more extraction for the final comparison")

            final = api.post(
                "/api/v2/dags/smartarena_usercourses_to_warehouse/dagRuns", {"logical_date": None}
            )
            triggered.append(("smartarena_usercourses_to_warehouse", final["dag_run_id"]))
            wait_until(
                "the final extraction", lambda: _all_done(api, observed.poll(api), triggered), args.timeout, 3
            )
            figures["runs_done_s"] = round(time.monotonic() - started, 1)

            tis = observed.poll(api)
            runs = api.all("/api/v2/dags/~/dagRuns", "dag_runs")
            figures.update(check_results(runs, tis, triggered, observed))
            check_warehouse(warehouse_db, sandbox)
            log("the warehouse equals the sandbox's ground truth")
            ticker = None
            processes.stop_all()
            check_triggerer(observed, home / "logs")
            log(f"{len(observed.deferred)} deferred task(s) ran their trigger on the triggerer and resumed")
            leaks = scan_secrets(
                [home / "logs", logs],
                {
                    "Smart ARENA client secret": sandbox.client_secret,
                    "Airflow JWT secret": env["AIRFLOW__API_AUTH__JWT_SECRET"],
                    "Fernet key": env["AIRFLOW__CORE__FERNET_KEY"],
                }
                | {f"Smart ARENA token #{i + 1}": t for i, t in enumerate(issued_tokens)},
            )
            if leaks:
                raise LaneError("secrets in logs:\n" + "\n".join(leaks))
            figures["tokens_issued"] = len(issued_tokens)
            figures["log_files_scanned"] = sum(1 for p in (home / "logs").rglob("*") if p.is_file())
            log(f"no secret in {figures['log_files_scanned']} task log files nor in the component logs")
    except BaseException:
        log(f"FAILED; component logs in {logs}")
        for name in processes.started:
            tail = (logs / f"{name}.log").read_text(errors="replace")[-1500:]
            print(f"----- {name}.log (tail)\n{tail}", flush=True)
        args.keep = True
        raise
    finally:
        if ticker is not None:
            ticker.stop()
        processes.stop_all()
        forget_queue(args.broker, queue)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    return figures


def _all_done(api: Api, tis: list[dict[str, Any]], triggered: list[tuple[str, str]]) -> bool:
    """Every triggered run ended, and no run (scheduled or Asset-triggered) is still going."""
    runs = api.all("/api/v2/dags/~/dagRuns", "dag_runs")
    states = {(r["dag_id"], r["dag_run_id"]): r["state"] for r in runs}
    if any(states.get(key) not in TERMINAL for key in triggered):
        return False
    if any(r["state"] not in TERMINAL for r in runs):
        return False
    return not any(ti["state"] in ACTIVE_TI for ti in tis)


def _scheduler_only(ti: dict[str, Any]) -> bool:
    return "EmptyOperator" in (ti.get("operator"), ti.get("operator_name")) and not ti.get("hostname")


def check_results(
    runs: list[dict[str, Any]],
    tis: list[dict[str, Any]],
    triggered: list[tuple[str, str]],
    observed: Observed,
) -> dict[str, Any]:
    problems = [f"run {r['dag_id']}/{r['dag_run_id']}: {r['state']}" for r in runs if r["state"] != "success"]
    problems += [
        f"task {t['dag_id']}/{t['dag_run_id']}/{t['task_id']}[{t['map_index']}]: {t['state']}"
        for t in tis
        if t["state"] not in TI_OK
    ]
    if problems:
        raise LaneError("not everything succeeded:\n" + "\n".join(problems))
    # The scheduler marks an EmptyOperator (e.g. an example's all-success leaf) done itself, on no
    # worker: such a task instance has no hostname.
    ran = [t for t in tis if t["state"] == "success" and not _scheduler_only(t)]
    per_worker = Counter(t["hostname"] for t in ran)
    if set(per_worker) != set(WORKERS):
        raise LaneError(f"tasks did not run on both workers (and only there): {dict(per_worker)}")
    if not observed.deferred:
        raise LaneError("no deferrable sensor deferred")
    by_key = {(t["dag_id"], t["dag_run_id"], t["task_id"], t["map_index"]): t for t in tis}
    not_resumed = [key for key in observed.deferred if by_key[key]["state"] != "success"]
    if not_resumed:
        raise LaneError(f"deferred tasks that did not resume to success: {not_resumed}")
    deferred_tasks = sorted({key[2] for key in observed.deferred})
    return {
        "dag_runs": len(runs),
        "triggered_runs": len(triggered),
        "other_runs": len(runs) - len(triggered),
        "task_instances": len(tis),
        "tasks_per_worker": dict(sorted(per_worker.items())),
        "skipped_by_design": sum(1 for t in tis if t["state"] == "skipped"),
        "deferred_and_resumed": len(observed.deferred),
        "deferred_tasks": deferred_tasks,
    }


def check_triggerer(observed: Observed, home_logs: Path) -> None:
    """Every deferred task's trigger ran on the triggerer (its resumption was checked before).

    The triggerer logs each trigger next to the attempt's log, as ``attempt=N.log.trigger.<job>.log``;
    a "trigger ... starting" line there proves that the triggerer, not a worker, ran it. Read after
    the triggerer stopped: it writes those files asynchronously, and the last lines may lag.
    """
    ran = [
        key
        for key in observed.deferred
        if any(
            TRIGGER_STARTED.search(path.read_bytes())
            for path in (home_logs / f"dag_id={key[0]}" / f"run_id={key[1]}" / f"task_id={key[2]}").rglob("*")
            if ".trigger." in path.name and (key[3] < 0 or f"map_index={key[3]}" in str(path))
        )
    ]
    if len(ran) != len(observed.deferred):
        raise LaneError(f"no triggerer log for {sorted(observed.deferred - set(ran))}")


def check_warehouse(database: str, sandbox: SandboxServer) -> None:
    truth = sandbox.state()
    key = ("user_mapping_code", "course_mapping_code")
    live = [r for r in warehouse_rows(database, "smartarena_user_courses") if r.get("_deleted_at") is None]
    assert_same_table(live, truth["usercourses"], dict(USER_COURSE_COLUMNS), key)
    for resource in ("users", "branches", "courses"):
        columns, code = DIMENSIONS[resource]
        assert_same_table(
            warehouse_rows(database, f"smartarena_{resource}"), truth[resource], columns, (code,)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", default=os.environ.get("CELERY_LANE_BROKER", "redis://127.0.0.1:6379/7"))
    parser.add_argument("--timeout", type=float, default=420, help="seconds for the runs to finish")
    parser.add_argument("--tick-changes", type=int, default=10, help="learning events a second")
    parser.add_argument(
        "--defer-gate", type=float, default=120, help="most seconds learners wait for a deferral"
    )
    parser.add_argument("--dags", type=Path, default=DAGS, help="the DAG folder (default: dags_examples/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (kept on failure)")
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    try:
        figures = run_lane(args)
    except LaneError as failure:
        log(f"FAILED: {failure}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; every process the lane started was stopped")
        return 130
    log("PASSED")
    for name, value in figures.items():
        print(f"  {name}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
