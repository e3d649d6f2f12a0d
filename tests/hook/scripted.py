"""A scripted loopback HTTP server, for the replies the sandbox never gives.

A stdlib ``ThreadingHTTPServer`` answers what a test tells it to: HTML error pages, truncated
bodies, pages that repeat, a paginator without end, odd ``Retry-After`` values, a POST that
succeeds but never answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What the scripted server sends: ``drop`` closes the socket without an answer; ``truncate_to``
    sends only that many bytes of a body announced in full."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    drop: bool = False
    truncate_to: int | None = None
    delay: float = 0.0
    #: Seconds between the body's bytes (a server dripping its answer); 0 sends it at once.
    drip: float = 0.0


Route = Callable[[Request], Reply]
TOKEN_REPLY = {"access_token": "scripted-token-0123456789abcdef", "token_type": "Bearer", "expires_in": 3600}


class QuietHandler(BaseHTTPRequestHandler):
    """The base of the tests' loopback handlers: keep-alive, no Nagle delay, nothing logged."""

    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass


def serve_in_thread(httpd: ThreadingHTTPServer) -> threading.Thread:
    """Serve ``httpd`` on a daemon thread, each request on a daemon thread too, until its shutdown()."""
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    return thread


class ScriptedServer:
    """A loopback HTTP server whose /api answers come from ``route``; /oauth/access_token gives a token."""

    def __init__(self, route: Route) -> None:
        self.route = route
        #: The token endpoint's answer, or a route computing it (e.g. to echo the client secret).
        self.token_reply: Reply | Route = Reply(200, TOKEN_REPLY)
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                with server.lock:
                    server.requests.append(request)
                if parts.path == "/oauth/access_token":
                    token = server.token_reply
                    reply = token(request) if callable(token) else token
                else:
                    reply = server.route(request)
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting: expected in timeout tests

            def _send(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if reply.truncate_to is not None:
                    self.wfile.write(payload[: reply.truncate_to])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.drip:
                    for index in range(len(payload)):
                        self.wfile.write(payload[index : index + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip)
                    return
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = serve_in_thread(self.httpd)

    @property
    def url(self) -> str:
        port = self.httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def api_requests(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith("/api/")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def connection_json(
    url: str, *, login: str = "client", password: str = "secret-value-42", **extra: Any
) -> str:
    return json.dumps(
        {"conn_type": "smartarena", "host": url, "login": login, "password": password, "extra": extra}
    )
