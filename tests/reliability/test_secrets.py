"""No client secret, access token or user password ever shows: task logs, XCom, rendered templates,
error messages and reprs.

The end-to-end part runs DAGs through a real executor (``airflow dags test --use-executor`` with the
LocalExecutor and an ``airflow api-server`` for the task runner to report to), so that every task
runs in the task runner, which writes log files under ``AIRFLOW_HOME/logs`` (``dags test`` without
an executor runs tasks in-process and prints to the console instead). The DAGs: the example
extraction DAG, the example provisioning DAG triggered with users carrying passwords, and
``dags/reliability_secrets.py``, which fails on purpose inside requests. The sandbox runs in this
process, so every token it issued can be read from its state and searched for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaError
from airflow_provider_smartarena.hooks._token import Token
from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.operators.users import SmartArenaCreateUserOperator
from airflow_provider_smartarena.sandbox.testing import SandboxServer
from tests._airflow import AIRFLOW, airflow_env, api_server, free_port, new_airflow_home, wait_until
from tests.hook.scripted import Reply, connection_json
from tests.reliability._support import DAGS, ROOT, Figures, local_sandbox, task_context
from tests.sync.conftest import person

EXAMPLES = ROOT / "dags_examples"
DAG_FILES = [
    EXAMPLES / "smartarena_usercourses_to_warehouse.py",
    EXAMPLES / "smartarena_user_provisioning.py",
    DAGS / "reliability_secrets.py",
]
#: Where Airflow stores the input itself: the run's ``conf`` (what the person triggering it typed)
#: and the audit log's copy of the command line that carried it.
INPUT_COLUMNS = {("dag_run", "conf"), ("log", "extra")}


UNMASKED_BEARER = re.compile(r"Bearer (?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}")


def _secret(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


@dataclass
class AirflowRun:
    home: Path
    outputs: dict[str, str] = field(default_factory=dict)

    def log_files(self) -> list[Path]:
        return sorted(p for p in (self.home / "logs").rglob("*") if p.is_file())

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute(sql, params).fetchall()

    def task_states(self, dag_id: str) -> dict[str, str]:
        rows = self.query("SELECT task_id, state FROM task_instance WHERE dag_id = ?", dag_id)
        return dict(rows)


def dags_test(run: AirflowRun, env: dict[str, str], dag_id: str, conf: dict[str, Any] | None = None) -> None:
    """``airflow dags test --use-executor``; its whole process group is stopped once the run is over.

    The LocalExecutor may hang on shutdown after the run has finished (a worker that never takes its
    stop message), so a finished run is given a grace period, then its processes are killed.
    """
    command = [AIRFLOW, "dags", "test", "--use-executor", dag_id]
    if conf is not None:
        command += ["-c", json.dumps(conf)]
    output = run.home.parent / f"dags-test-{dag_id}.log"
    with output.open("w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def finished() -> bool:
            states = run.query("SELECT state FROM dag_run WHERE dag_id = ?", dag_id)
            return bool(states) and states[-1][0] in ("success", "failed")

        wait_until(lambda: process.poll() is not None or finished(), timeout=240, interval=0.5)
        wait_until(lambda: process.poll() is not None, timeout=30, interval=0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # executor workers left behind
    run.outputs[f"dags test {dag_id}"] = output.read_text(errors="replace")


def find_secrets(text: str, secrets: dict[str, str]) -> list[str]:
    return [label for label, value in secrets.items() if value and value in text]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def scan_database(run: AirflowRun, secrets: dict[str, str]) -> list[str]:
    """Every text value of every table of the metadata database, but the run's own input."""
    found = []
    tables = [name for (name,) in run.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        with sqlite3.connect(run.home / "airflow.db") as db:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if (table, column) in INPUT_COLUMNS:
                    continue
                found += [f"{table}.{column}: {label}" for label in find_secrets(_text(value), secrets)]
    return found


@pytest.mark.airflow
def test_no_secret_reaches_task_logs_xcom_rendered_fields_or_the_metadata_db(
    tmp_path: Path, migrated_airflow: Path, figures: Figures
) -> None:
    password, other_password = _secret("UserPassw0rd"), _secret("OtherPassw0rd")
    sync_passwords = [_secret(f"SyncPassw0rd{n}") for n in range(3)]
    options: dict[str, Any] = {"users": 40, "courses": 8, "activities": 800, "page_size": 100, "token_ttl": 2}
    options |= {"latency_ms": 40, "error_rate": 0.05, "rate_limit_rate": 0.05, "retry_after": "0.1"}
    with local_sandbox(client_secret=_secret("ClientS3cret"), **options) as sandbox:
        run = AirflowRun(new_airflow_home(migrated_airflow, tmp_path / "airflow"))
        dags = tmp_path / "dags"
        dags.mkdir()
        for dag_file in DAG_FILES:
            (dags / dag_file.name).symlink_to(dag_file)
        port = free_port()
        env = airflow_env(
            run.home,
            dags,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
            # Airflow's default. At DEBUG, Airflow's own task runner logs the run's conf (passwords
            # included) before any provider code runs; the provider's debug lines are checked by
            # tests/hook/test_hook_secrets.py::test_debug_logs_hold_no_secret.
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            AIRFLOW_CONN_SMARTARENA_DEFAULT=sandbox.connection_json(timezone="UTC"),
            AIRFLOW_CONN_SMARTARENA_WAREHOUSE=json.dumps(
                {"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}
            ),
        )
        users = [
            {**person(n, mapping_code=f"ext-{n}", branch_mapping_code="ext-sales"), "password": pw}
            for n, pw in enumerate(sync_passwords, 1)
        ]
        with api_server(env, port, tmp_path / "api-server.log"):
            dags_test(run, env, "smartarena_usercourses_to_warehouse")
            dags_test(run, env, "smartarena_user_provisioning", {"users": users, "dry_run": False})
            dags_test(
                run, env, "reliability_secrets", {"password": password, "other_password": other_password}
            )
        run.outputs["api-server"] = (tmp_path / "api-server.log").read_text(errors="replace")
        tokens = sandbox.issued_tokens()
        created = {u["mapping_code"]: u for u in sandbox.admin.state("users")}

    # The runs did what they were meant to, so the search below is not over empty logs.
    assert set(run.task_states("smartarena_usercourses_to_warehouse").values()) == {"success"}
    assert run.task_states("smartarena_user_provisioning") == {
        "plan": "success",
        "apply_or_stop": "success",
        "apply": "success",
    }
    assert run.task_states("reliability_secrets") == {
        "create_user_with_password": "success",
        "update_missing_user_with_password": "failed",
        "use_the_hook": "success",
        "fail_inside_a_hook_call": "failed",
    }
    assert all(created[f"ext-{n}"]["has_password"] == 1 for n in (1, 2, 3))
    assert created["sec-user-1"]["has_password"] == 1
    assert len(tokens) >= 6, tokens  # one per task at least, and renewals of the 2-second tokens
    logs = {str(p.relative_to(run.home)): p.read_text(errors="replace") for p in run.log_files()}
    assert len(logs) >= 10, sorted(logs)
    everything = "\n".join(logs.values())
    assert "does not exist" in everything  # the failures were logged
    assert "HTTP 422" in everything

    secrets = {"client secret": sandbox.client_secret, "user password": password}
    secrets |= {"hook-only password": other_password}
    secrets |= {f"sync password {n}": pw for n, pw in enumerate(sync_passwords, 1)}
    secrets |= {f"access token {n}": token for n, token in enumerate(tokens, 1)}
    secrets |= {f"start of access token {n}": token[:16] for n, token in enumerate(tokens, 1)}

    # The console of `dags test` is not searched: it echoes the tasks' raw stdout before masking.
    found = [f"log {name}: {label}" for name, text in logs.items() for label in find_secrets(text, secrets)]
    found += [f"api-server log: {label}" for label in find_secrets(run.outputs["api-server"], secrets)]
    found += [
        f"log {name}: an unmasked Bearer header"
        for name, text in logs.items()
        if UNMASKED_BEARER.search(text)
    ]
    xcoms = run.query("SELECT dag_id, task_id, key, value FROM xcom")
    rendered = run.query("SELECT dag_id, task_id, rendered_fields FROM rendered_task_instance_fields")
    assert xcoms
    assert rendered
    found += scan_database(run, secrets)
    figures.add(
        runs=3,
        secret_places_searched=len(logs) + 1 + len(xcoms) + len(rendered),
        secrets_searched=len(secrets),
        secrets_found=len(found),
    )
    assert not found, "\n".join(found)
    assert "Authorization: Bearer ***" in everything  # the HTTP debug print of the token, masked


# ---------------------------------------------------------------------------------------------
# reprs and error messages, in this process


def test_what_the_hook_holds_shows_no_secret(make_hook: Any, fresh_sandbox: SandboxServer) -> None:
    hook = make_hook(fresh_sandbox.connection_json(max_retries=2))
    hook.get_locations()
    token = hook._tokens.get()
    manager = hook._tokens
    texts = [
        repr(hook),
        str(hook),
        repr(hook.settings),
        str(hook.settings),
        f"{hook.settings}",
        "%s %r" % (hook.settings, hook.settings),  # noqa: UP031  (the logging style)
        repr(vars(hook)),
        repr(manager),
        repr(manager._token),
        repr(Token("a-token-value", None)),
        repr(dict(hook.get_conn().headers)),
        repr(hook.retry_policy),
    ]
    for text in texts:
        assert fresh_sandbox.client_secret not in text, text
        assert token not in text, text
        assert "a-token-value" not in text, text


def _error_of(call: Any) -> SmartArenaError:
    with pytest.raises(SmartArenaError) as info:
        call()
    return info.value


def _texts_of(error: BaseException) -> list[str]:
    texts = [
        str(error),
        repr(error),
        repr(vars(error)),
        json.dumps(getattr(error, "response_body", None), default=str),
    ]
    if error.__cause__ is not None or error.__context__ is not None:
        texts += [repr(error.__cause__), repr(error.__context__)]
    return texts


def test_errors_of_every_kind_of_failure_show_no_secret(
    make_hook: Any, fresh_sandbox: SandboxServer, scripted: Any
) -> None:
    wrong, password = _secret("WrongSecret"), _secret("Passw0rd")
    html = scripted(lambda request: Reply(500, raw=b"<html><body>Internal error</body></html>"))
    failing = {
        "wrong client secret": connection_json(fresh_sandbox.url, login="sandbox-client", password=wrong),
        "nobody listening": connection_json(f"http://127.0.0.1:{free_port()}", password=wrong, max_retries=0),
        "an HTML error page": connection_json(html.url, password=wrong, max_retries=0),
    }
    errors = []
    for conn in failing.values():
        hook = make_hook(conn)
        errors.append(
            _error_of(lambda hook=hook: hook.create_user("u-x", "x@example.com", "X", "Y", password=password))
        )
        assert not hook.test_connection()[0]
    hook = make_hook(fresh_sandbox.connection_json(max_retries=0))
    taken = fresh_sandbox.state("users")[0]["mapping_code"]
    errors += [
        _error_of(lambda: hook.create_user(taken, "x@example.com", "X", "Y", password=password)),  # 422
        _error_of(lambda: hook.update_user("nobody", password=password)),  # 404
        _error_of(lambda: hook.update_user("u-1", password=password + "\n")),  # refused before sending
    ]
    secrets = [wrong, password, fresh_sandbox.client_secret, hook._tokens.get()]
    for error in errors:
        for text in _texts_of(error):
            assert not [s for s in secrets if s in text], text
    ok, message = make_hook(failing["wrong client secret"]).test_connection()
    assert not ok
    assert wrong not in message


def test_operator_and_sync_results_show_no_password(
    fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    password = _secret("Passw0rd")
    taken_email = fresh_sandbox.state("users")[0]["email"]
    records = [
        {**person(1), "password": password},
        {**person(2), "email": taken_email, "password": password},  # refused by the platform
    ]
    context = task_context()
    batch = SmartArenaCreateUserOperator(task_id="create", records=records, fail_on_error=False)
    outcome = batch.execute(context)
    with pytest.raises(Exception) as failed_sync:
        SmartArenaUserSyncOperator(task_id="sync", users=records).execute(context)

    texts = [
        json.dumps(outcome, default=str),
        str(failed_sync.value),
        json.dumps(context["ti"].xcom, default=str),
    ]
    assert "failed" in texts[0]  # the refusal is reported ...
    assert "failed" in texts[1]
    for text in texts:
        assert password not in text  # ... without the password
