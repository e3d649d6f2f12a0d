"""Run the app with uvicorn (httptools, one process) on a socket we bind, so port 0 works."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from airflow_provider_smartarena.sandbox.app import create_app
from airflow_provider_smartarena.sandbox.config import SandboxConfig
from airflow_provider_smartarena.sandbox.faults import TRANSPORT_KEY
from airflow_provider_smartarena.sandbox.simulate import LiveActivity
from airflow_provider_smartarena.sandbox.state import SandboxState


class SandboxHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that also hands the transport to the app (for the drop fault)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        cast("dict[str, Any]", self.scope)[TRANSPORT_KEY] = self.transport


class SandboxUvicornServer(uvicorn.Server):
    """uvicorn's server that also runs the live activity (``--live RATE``) while it serves.

    The live steps run as a task on the server's own event loop, between requests, so they never
    race a handler over the store (the handlers run on that loop too).
    """

    def __init__(self, config: uvicorn.Config, state: SandboxState) -> None:
        super().__init__(config)
        self.sandbox_state = state
        self._live_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.sandbox_state.config.live > 0:
            self._live_task = asyncio.create_task(run_live(self.sandbox_state))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._live_task is not None:
            self._live_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._live_task
        await super().shutdown(sockets=sockets)


LIVE_INTERVAL = 1.0  # seconds between live steps; the rate is spread over them


async def run_live(state: SandboxState, interval: float = LIVE_INTERVAL) -> None:
    """Apply ``state.config.live`` changes a second until cancelled, stamped with the sandbox clock."""
    live = LiveActivity(state.config.live, state.sizes.seed)
    live.step(state.store, state.now(), seconds=0)
    last = time.monotonic()
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        if live.step(state.store, state.now(), seconds=now - last):
            state.commit()
        last = now


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


def build_server(config: SandboxConfig) -> tuple[SandboxUvicornServer, socket.socket, SandboxState]:
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
    return SandboxUvicornServer(uv_config, state), bind_socket(config.host, config.port), state
