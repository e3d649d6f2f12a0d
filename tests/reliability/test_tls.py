"""The sandbox served over HTTPS with a self-signed certificate, and plain HTTP to remote hosts.

Refused by default (before any request reaches the API), accepted with the certificate's CA bundle
as ``verify_ssl``, accepted with a warning when ``verify_ssl`` is false. Plain ``http://`` to a host
that is not this machine is refused before any connection is opened, unless the connection says
``allow_insecure_http``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

from airflow_provider_smartarena.exceptions import SmartArenaConfigError, SmartArenaError, SmartArenaTLSError
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from tests.hook.scripted import connection_json
from tests.hook.test_hook_test_connection import _self_signed
from tests.reliability._support import Figures, LocalSandbox, assert_table_is_ground_truth, local_sandbox
from tests.transfers.conftest import Warehouse


@pytest.fixture(scope="module")
def tls_sandbox(tls_certificate: tuple[Path, Path]) -> Iterator[LocalSandbox]:
    with local_sandbox(tls=tls_certificate, users=20, courses=4, activities=150, page_size=40) as sandbox:
        yield sandbox


def requests_seen(sandbox: LocalSandbox) -> int:
    return int(sandbox.admin.stats()["total"])


def test_the_sandbox_is_really_served_over_https(tls_sandbox: LocalSandbox) -> None:
    assert tls_sandbox.url.startswith("https://127.0.0.1:")
    host, port = tls_sandbox.url.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not sock.recv(100).startswith(b"HTTP/")  # plain HTTP gets no HTTP answer


def test_a_self_signed_certificate_is_refused_by_default(tls_sandbox: LocalSandbox, make_hook: Any) -> None:
    hook = make_hook(tls_sandbox.connection_json())
    before = requests_seen(tls_sandbox)
    with pytest.raises(SmartArenaTLSError, match="certificate verify failed"):
        hook.get_users()
    assert requests_seen(tls_sandbox) == before  # not even the token request got through
    ok, message = hook.test_connection()
    assert not ok
    assert "verify_ssl" in message


def test_the_tls_error_of_a_task_says_how_to_fix_it(tls_sandbox: LocalSandbox, make_hook: Any) -> None:
    hook = make_hook(tls_sandbox.connection_json())
    with pytest.raises(SmartArenaTLSError) as info:
        hook.get_users()
    assert "verify_ssl" in str(info.value)


def test_an_extraction_over_a_refused_certificate_fails_before_reading(
    tls_sandbox: LocalSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TLS", tls_sandbox.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_WH", f'{{"conn_type": "sqlite", "host": "{tmp_path / "w.db"}"}}')
    before = requests_seen(tls_sandbox)
    operator = SmartArenaUserCoursesToSqlOperator(task_id="x", smartarena_conn_id="tls", sql_conn_id="wh")
    with pytest.raises(SmartArenaTLSError):
        operator.execute({})
    assert requests_seen(tls_sandbox) == before
    assert Warehouse("sqlite", "wh", None).state() == []  # no watermark, however empty


def test_the_ca_bundle_in_verify_ssl_makes_everything_work(
    tls_sandbox: LocalSandbox,
    tls_certificate: tuple[Path, Path],
    make_hook: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    cert, _key = tls_certificate
    hook = make_hook(tls_sandbox.connection_json(verify_ssl=str(cert)))
    ok, message = hook.test_connection()
    assert ok, message
    hook.create_location("tls-loc-1", "Over TLS")
    assert hook.get_location("tls-loc-1")["name"] == "Over TLS"
    hook.delete_location("tls-loc-1")
    assert hook.get_location("tls-loc-1") is None

    monkeypatch.setenv("AIRFLOW_CONN_TLS", tls_sandbox.connection_json(verify_ssl=str(cert)))
    monkeypatch.setenv("AIRFLOW_CONN_WH", f'{{"conn_type": "sqlite", "host": "{tmp_path / "w.db"}"}}')
    SmartArenaUserCoursesToSqlOperator(task_id="x", smartarena_conn_id="tls", sql_conn_id="wh").execute({})
    assert_table_is_ground_truth(
        Warehouse("sqlite", "wh", None), tls_sandbox.admin.state("usercourses"), figures
    )


def test_verification_off_works_with_a_warning(
    tls_sandbox: LocalSandbox, make_hook: Any, log_events: list[dict[str, Any]]
) -> None:
    hook = make_hook(tls_sandbox.connection_json(verify_ssl="false"))
    assert len(hook.get_users()) == 20
    warnings = [e["event"] for e in log_events if e["log_level"] == "warning"]
    assert any("TLS certificate verification is off" in w for w in warnings), warnings


def test_an_explicit_setting_wins_over_requests_ca_bundle(
    tls_sandbox: LocalSandbox,
    tls_certificate: tuple[Path, Path],
    make_hook: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, _key = tls_certificate
    other_ca, _other_key = _self_signed(tmp_path)  # a CA that did not sign the sandbox's certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with pytest.raises(SmartArenaTLSError):
        make_hook(tls_sandbox.connection_json(verify_ssl=str(other_ca))).get_users()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    assert len(make_hook(tls_sandbox.connection_json(verify_ssl="false")).get_users()) == 20


# ---------------------------------------------------------------------------------------------
# plain HTTP


@pytest.fixture
def connections_opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection urllib3 tries to open (refused at once, so nothing leaves the machine)."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    return attempts


REMOTE_HTTP = [
    "http://lms.example.com",
    "http://10.20.30.40:8080",
    "http://lms.example.com:80/prefix",
    "http://[::ffff:127.0.0.1]",  # an IPv4-mapped address is not taken for loopback
    "http://127.0.0.1@lms.example.com",
    "http://lms.example.com#@127.0.0.1",
    "http://lms.example.com?@127.0.0.1",
]


@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_plain_http_to_a_remote_host_is_refused_before_any_connection(
    url: str, make_hook: Any, connections_opened: list[tuple[str, int]]
) -> None:
    hook = make_hook(connection_json(url, max_retries=0))
    # Refused either as plain http to a remote host or, where user info makes parsers disagree on
    # the host, as a URL that must not carry user info.
    refused = r"allow_insecure_http|user info|must not carry credentials"
    with pytest.raises(SmartArenaConfigError, match=refused):
        hook.get_users()
    assert not hook.test_connection()[0]
    assert connections_opened == []


def test_a_url_that_parsers_read_differently_is_refused(
    make_hook: Any, connections_opened: list[tuple[str, int]]
) -> None:
    hook = make_hook(connection_json("http://lms.example.com\\@127.0.0.1:9", max_retries=0))
    with contextlib.suppress(SmartArenaError):
        hook.get_users()  # should be refused as plain http:// to lms.example.com
    assert connections_opened == []


def test_plain_http_is_allowed_when_the_connection_says_so(
    make_hook: Any, connections_opened: list[tuple[str, int]]
) -> None:
    hook = make_hook(connection_json("http://lms.example.com", max_retries=0, allow_insecure_http="true"))
    with pytest.raises(Exception):  # noqa: B017  (refused by the test's fake network)
        hook.get_users()
    assert connections_opened == [("lms.example.com", 80)]


def test_an_operator_on_plain_http_to_a_remote_host_fails_before_any_connection(
    connections_opened: list[tuple[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_REMOTE", connection_json("http://lms.example.com"))
    monkeypatch.setenv("AIRFLOW_CONN_WH", f'{{"conn_type": "sqlite", "host": "{tmp_path / "w.db"}"}}')
    operator = SmartArenaUserCoursesToSqlOperator(task_id="x", smartarena_conn_id="remote", sql_conn_id="wh")
    with pytest.raises(SmartArenaConfigError, match="refusing plain http://"):
        operator.execute({})
    assert connections_opened == []
