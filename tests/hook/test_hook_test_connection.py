"""test_connection() tells a person what is wrong: credentials, reachability, TLS, or nothing."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_smartarena.exceptions import SmartArenaTLSError

from .scripted import QuietHandler, connection_json, serve_in_thread


def test_ok(fresh_sandbox: Any, make_hook: Any) -> None:
    ok, message = make_hook(fresh_sandbox.connection_json()).test_connection()
    assert ok, message
    assert message.startswith(f"Connected to {fresh_sandbox.url} as client 'sandbox-client'")


def test_bad_credentials(fresh_sandbox: Any, make_hook: Any) -> None:
    hook = make_hook(
        connection_json(fresh_sandbox.url, login=fresh_sandbox.client_id, password="wrong-secret")
    )
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Bad credentials:")
    assert "client id" in message
    assert "wrong-secret" not in message
    assert fresh_sandbox.stats()["token_requests"] == 1  # told at once, not retried


def test_unreachable_port(make_hook: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, message = make_hook(connection_json(f"http://127.0.0.1:{port}")).test_connection()
    assert not ok
    assert message.startswith("Host unreachable:")
    assert "Connection refused" in message


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _TLSHandler(QuietHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"access_token": "tls-token-abcdef", "expires_in": 3600}'
        if self.path.startswith("/api/"):
            body = b'{"data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TLSHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serve_in_thread(server)
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_tls_failure(tls_server: tuple[str, Path], make_hook: Any) -> None:
    url, _cert = tls_server
    hook = make_hook(connection_json(url))
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("TLS failure:")
    assert "certificate verify failed" in message
    assert "verify_ssl" in message
    with pytest.raises(SmartArenaTLSError):  # and not retried: a certificate does not heal
        hook.get_users()


def test_tls_with_the_ca_bundle_from_verify_ssl(tls_server: tuple[str, Path], make_hook: Any) -> None:
    url, cert = tls_server
    ok, message = make_hook(connection_json(url, verify_ssl=str(cert))).test_connection()
    assert ok, message


def test_tls_verification_off(tls_server: tuple[str, Path], make_hook: Any) -> None:
    url, _cert = tls_server
    ok, message = make_hook(connection_json(url, verify_ssl=False)).test_connection()
    assert ok, message


def test_missing_connection() -> None:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

    ok, message = SmartArenaHook("no_such_connection_here").test_connection()
    assert not ok
    assert "'no_such_connection_here' cannot be read" in message
