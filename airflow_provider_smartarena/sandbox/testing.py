"""Start a sandbox from tests (or any Python) and drive its admin API.

    with run_sandbox(seed=1, users=50, activities=500) as sandbox:
        sandbox.url, sandbox.client_id, sandbox.client_secret
        sandbox.reset(seed=2)            # re-seed; faults, stats and clock back to start values
        sandbox.set_faults(error_rate=0.5, seed=7)
        sandbox.tick(changes=10, advance_seconds=60)
        sandbox.state("usercourses")     # ground truth: the list of every activity
        os.environ["AIRFLOW_CONN_SMARTARENA_DEFAULT"] = sandbox.connection_json(timezone="UTC")

Keyword options of ``run_sandbox`` are the CLI options (``page_size=10`` -> ``--page-size 10``).
Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

READY_MARKER = "SANDBOX_READY"
START_TIMEOUT = 60.0


class SandboxError(RuntimeError):
    """An admin call failed, or the sandbox did not start."""


class SandboxServer:
    """A running sandbox: its URL, credentials and admin helpers."""

    def __init__(self, url: str, client_id: str, client_secret: str, stopper: Any) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._stopper = stopper

    def __repr__(self) -> str:
        return f"SandboxServer(url={self.url!r})"

    # ---- admin API -------------------------------------------------------------------------
    def admin(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        """Call ``/_sandbox/<path>``; raise SandboxError on a non-2xx answer; return the parsed JSON."""
        url = f"{self.url}/_sandbox/{path.lstrip('/')}"
        return _request(method, url, json)

    def reset(self, **seed_and_sizes: Any) -> None:
        """Re-seed (``seed``, ``users``, ``courses``, ``activities``, ...; missing ones take the start
        values) and return faults, stats and the clock to the values the process started with."""
        self.admin("POST", "reset", seed_and_sizes)

    def set_faults(self, **faults: Any) -> None:
        """latency_ms, error_rate, rate_limit_rate, retry_after, drop_rate, token_ttl, envelope,
        page_size, timezone, seed (of the fault RNG)."""
        self.admin("PUT", "faults", faults)

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "faults")
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "stats")
        return result

    def reset_stats(self) -> None:
        self.admin("POST", "stats/reset")

    def state(self, resource: str | None = None, modules_data: bool = True, fields: str | None = None) -> Any:
        """Ground truth: the dict of every resource, or just the list of ``resource``.

        ``fields="user_mapping_code,updated_at"`` keeps only those fields of each record.
        """
        query: dict[str, Any] = {"modules_data": int(modules_data)}
        if resource is not None:
            query["resource"] = resource
        if fields:
            query["fields"] = fields
        body = self.admin("GET", f"state?{urlencode(query)}")
        return body if resource is None or "," in resource else body[resource]

    def tick(self, changes: int = 1, **kw: Any) -> Any:
        """Simulate ``changes`` learning events; kw: ``advance_seconds``, ``future_seconds``."""
        return self.admin("POST", "tick", {"changes": changes, **kw})

    def clock(self, **changes: Any) -> Any:
        """GET the sandbox clock, or PUT ``advance_seconds`` / ``now`` / ``frozen`` when given."""
        return self.admin("PUT", "clock", changes) if changes else self.admin("GET", "clock")

    def revoke_tokens(self) -> int:
        result: int = self.admin("POST", "tokens/revoke")["revoked"]
        return result

    # ---- connections -------------------------------------------------------------------------
    def connection_json(self, **extra: Any) -> str:
        """The JSON form of an Airflow connection (for ``AIRFLOW_CONN_<ID>``) of type smartarena."""
        return connection_json(self.url, self.client_id, self.client_secret, **extra)

    def connection_uri(self, **extra: Any) -> str:
        """The URI form: ``smartarena://id:secret@127.0.0.1:port/?__extra__=<json>``.

        The scheme of the base URL (http) is lost in a URI; prefer connection_json().
        """
        parts = urlsplit(self.url)
        extra_query = f"?__extra__={quote(json.dumps(extra))}" if extra else ""
        return (
            f"smartarena://{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            f"@{parts.netloc}/{extra_query}"
        )

    def stop(self) -> None:
        self._stopper()


def connection_json(url: str, client_id: str, client_secret: str, **extra: Any) -> str:
    """The JSON form of an Airflow connection of type smartarena to the API at ``url``."""
    return json.dumps(
        {
            "conn_type": "smartarena",
            "host": url,
            "login": client_id,
            "password": client_secret,
            "extra": extra,
        }
    )


def _request(method: str, url: str, body: dict[str, Any] | None, timeout: float = 120.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise SandboxError(f"{method} {url} -> {exc.code}: {detail}") from exc
    return json.loads(payload) if payload else None


def _wait_until_healthy(url: str, deadline: float, alive: Any) -> None:
    while time.monotonic() < deadline:
        if not alive():
            raise SandboxError("the sandbox exited during start-up")
        with contextlib.suppress(OSError, SandboxError, ValueError):
            _request("GET", f"{url}/_sandbox/health", None, timeout=2.0)
            return
        time.sleep(0.05)
    raise SandboxError(f"the sandbox at {url} did not answer in time")


@contextlib.contextmanager
def run_sandbox(*, in_thread: bool = False, **cli_options: Any) -> Iterator[SandboxServer]:
    """Start a sandbox on a free loopback port, wait until it answers, yield it, stop it.

    By default a subprocess runs ``python -m airflow_provider_smartarena.sandbox --port 0 ...``;
    with ``in_thread=True`` uvicorn serves from a background thread of this process instead.
    """
    options = {"host": "127.0.0.1", "port": 0, **cli_options}
    starter = _start_thread if in_thread else _start_process
    server = starter(options)
    try:
        yield server
    finally:
        server.stop()


def _start_process(options: dict[str, Any]) -> SandboxServer:
    from airflow_provider_smartarena.sandbox.cli import options_to_argv

    log = tempfile.NamedTemporaryFile(prefix="smartarena-sandbox-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "airflow_provider_smartarena.sandbox", *options_to_argv(options)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    log_path = Path(log.name)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        with contextlib.suppress(OSError):
            log_path.unlink()

    try:
        ready = _wait_for_ready_line(log_path, process)
        server = SandboxServer(ready["url"], ready["client_id"], ready["client_secret"], stop)
        _wait_until_healthy(server.url, time.monotonic() + START_TIMEOUT, lambda: process.poll() is None)
    except BaseException:
        stop()
        raise
    return server


def _wait_for_ready_line(log_path: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith(READY_MARKER + " "):
                ready: dict[str, Any] = json.loads(line[len(READY_MARKER) + 1 :])
                return ready
        if process.poll() is not None:
            raise SandboxError(f"the sandbox exited with {process.returncode}:\n{text[-4000:]}")
        time.sleep(0.05)
    raise SandboxError("the sandbox did not report its address in time")


def _start_thread(options: dict[str, Any]) -> SandboxServer:
    from airflow_provider_smartarena.sandbox.cli import config_from_args, options_to_argv
    from airflow_provider_smartarena.sandbox.server import base_url, build_server

    try:
        config = config_from_args(options_to_argv(options))
    except SystemExit as exc:  # argparse rejected an option (the message is on stderr)
        raise SandboxError(f"bad sandbox option(s) {options}") from exc
    server, sock, _state = build_server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="smartarena-sandbox", daemon=True
    )
    thread.start()
    url = base_url(sock)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    try:
        _wait_until_healthy(url, time.monotonic() + START_TIMEOUT, thread.is_alive)
    except BaseException:
        stop()
        raise
    return SandboxServer(url, config.client_id, config.client_secret, stop)
