"""When nothing can be read: an unusable connection, bad credentials, no server, a certificate not trusted."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.probe import ProbeReport, probe
from airflow_provider_smartarena.probe.report import render, to_json
from airflow_provider_smartarena.sandbox.testing import SandboxServer

# The loopback TLS server with a self-signed certificate of the hook's tests.
from tests.hook.scripted import connection_json
from tests.hook.test_hook_test_connection import tls_server  # noqa: F401 - a fixture

from .conftest import writes_of

WRONG_SECRET = "wrong-secret-7d1f0c"


def _failed(report: ProbeReport, kind: str, prefix: str) -> str:
    assert report.failure is not None
    assert report.failure.kind == kind, report.failure
    message = report.failure.message
    assert message.startswith(prefix), message
    assert "\n" not in message
    assert report.endpoints == []
    assert not report.ok
    assert report.verdict == f"FAILED: {message}"
    return message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_host(make_hook: Any) -> None:
    report = probe(make_hook(connection_json(f"http://127.0.0.1:{_closed_port()}")))
    assert "Connection refused" in _failed(report, "unreachable", "Host unreachable:")
    assert report.requests == {"token": 1, "get": 0}


def test_bad_credentials(fresh_sandbox: SandboxServer, make_hook: Any) -> None:
    conn = connection_json(fresh_sandbox.url, login=fresh_sandbox.client_id, password=WRONG_SECRET)
    report = probe(make_hook(conn))
    message = _failed(report, "auth", "Bad credentials:")
    assert "client id 'sandbox-client'" in message
    for text in (message, to_json(report), render(report)):
        assert WRONG_SECRET not in text
    assert fresh_sandbox.stats()["token_requests"] == 1
    assert writes_of(fresh_sandbox) == {}


def test_tls_failure(tls_server: tuple[str, Path], make_hook: Any) -> None:  # noqa: F811
    url, _cert = tls_server
    report = probe(make_hook(connection_json(url)))
    message = _failed(report, "tls", "TLS failure:")
    assert "certificate verify failed" in message
    assert "verify_ssl" in message


def test_tls_with_the_ca_bundle(tls_server: tuple[str, Path], make_hook: Any) -> None:  # noqa: F811
    url, cert = tls_server
    report = probe(make_hook(connection_json(url, verify_ssl=str(cert))), short=True)
    assert report.failure is None
    assert all(e.reachable for e in report.endpoints)


def test_unknown_connection_id() -> None:
    report = probe(SmartArenaHook("probe_no_such_connection"))
    message = _failed(report, "config", "The connection 'probe_no_such_connection' cannot be read:")
    assert "isn't defined" in message


def test_plain_http_to_a_remote_host_is_refused(make_hook: Any) -> None:
    report = probe(make_hook(connection_json("http://smartarena.example.com")))
    assert "refusing plain http://" in _failed(report, "config", "The connection is not usable:")
    assert report.requests == {"token": 0, "get": 0}


def test_short_probe_failure_is_a_test_connection_answer(make_hook: Any) -> None:
    report = probe(make_hook(connection_json(f"http://127.0.0.1:{_closed_port()}")), short=True)
    ok, message = report.connection_test()
    assert not ok
    assert message.startswith("Host unreachable:")
