"""Run the app with uvicorn (httptools, one process) on a socket we bind, so port 0 works."""

from __future__ import annotations

import socket
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from airflow_provider_smartarena.sandbox.app import create_app
from airflow_provider_smartarena.sandbox.config import SandboxConfig
from airflow_provider_smartarena.sandbox.faults import TRANSPORT_KEY
from airflow_provider_smartarena.sandbox.state import SandboxState


class SandboxHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that also hands the transport to the app (for the drop fault)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        cast("dict[str, Any]", self.scope)[TRANSPORT_KEY] = self.transport


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build_server(config: SandboxConfig) -> tuple[uvicorn.Server, socket.socket, SandboxState]:
    """The uvicorn server, its listening socket and the sandbox state (not yet serving)."""
    state = SandboxState(config)
    uv_config = uvicorn.Config(
        create_app(state),
        http=SandboxHttpProtocol,
        lifespan="off",
        access_log=config.access_log,
        log_level="info" if config.access_log else "warning",
        timeout_keep_alive=30,
        date_header=False,
        server_header=False,
        backlog=2048,
    )
    return uvicorn.Server(uv_config), bind_socket(config.host, config.port), state
