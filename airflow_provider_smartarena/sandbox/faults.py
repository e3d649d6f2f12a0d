"""Fault injection (latency, 5xx, 429, dropped connections) and the Date header, as ASGI middleware.

Faults apply to ``/api/*`` and ``/oauth/*`` only, never to ``/_sandbox/*`` or the docs. Each request
draws from one seeded RNG in a fixed order (drop, rate limit, error), so a run with the same fault
seed and the same request sequence injects the same faults.

The ``throttle`` setting is Laravel's ``throttle:N,M`` on ``/api/*``: at most N requests in a window
that opens with the first request and lasts S seconds; past that, 429 with ``Retry-After`` (the
seconds until the window closes). Every ``/api`` answer carries ``X-RateLimit-Limit`` and
``X-RateLimit-Remaining``, as Laravel's do. It runs on real time, not the sandbox clock.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_smartarena.sandbox.clock import load_zone
from airflow_provider_smartarena.sandbox.config import ENVELOPES, FaultDefaults

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from airflow_provider_smartarena.sandbox.clock import SandboxClock
    from airflow_provider_smartarena.sandbox.stats import Stats

TRANSPORT_KEY = "sandbox.transport"  # put into the scope by server.SandboxHttpProtocol
ERROR_STATUSES = (500, 502, 503)


@dataclass
class FaultSettings:
    """The live fault settings (PUT /_sandbox/faults changes them).

    ``current`` holds the values; :meth:`update` replaces it whole, so that a request reads one
    consistent set. ``rng`` and ``window`` are the state those values drive.
    """

    current: FaultDefaults = field(default_factory=FaultDefaults)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    window: Throttle = field(default_factory=lambda: Throttle(""), repr=False, compare=False)

    @classmethod
    def from_defaults(cls, defaults: FaultDefaults) -> FaultSettings:
        settings = cls(defaults)
        settings.rng.seed(defaults.seed)
        settings.window = Throttle(defaults.throttle)
        return settings

    def public(self) -> dict[str, Any]:
        return asdict(self.current)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` atomically; ValueError maps field -> message when a value is bad."""
        cleaned, errors = {}, {}
        for name, value in changes.items():
            try:
                cleaned[name] = clean_fault(name, value)
            except (ValueError, TypeError) as exc:
                errors[name] = str(exc)
        if errors:
            raise FaultError(errors)
        self.current = replace(self.current, **cleaned)
        if "seed" in cleaned:
            self.rng.seed(self.current.seed)
        if "throttle" in cleaned:
            self.window = Throttle(self.current.throttle)

    def draw(self) -> str | None:
        """The fault for the next request: "drop", "rate_limit", "error" or None."""
        current = self.current
        for kind, rate in (
            ("drop", current.drop_rate),
            ("rate_limit", current.rate_limit_rate),
            ("error", current.error_rate),
        ):
            if rate > 0 and self.rng.random() < rate:
                return kind
        return None


class Throttle:
    """A fixed window of ``limit`` requests a ``seconds``, opened by the first request in it."""

    def __init__(self, spec: str) -> None:
        self.limit, self.seconds = parse_throttle(spec) or (0, 0)
        self.opened = 0.0
        self.used = 0

    def take(self) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window closes)."""
        now = time.monotonic()
        if not self.used or now >= self.opened + self.seconds:
            self.opened, self.used = now, 0
        wait = max(1, math.ceil(self.opened + self.seconds - now))
        if self.used >= self.limit:
            return False, 0, wait
        self.used += 1
        return True, self.limit - self.used, wait


def parse_throttle(spec: str) -> tuple[int, int] | None:
    """``"60/60"`` -> (60, 60); ``""`` or ``"off"`` -> None; ValueError on anything else."""
    if spec in ("", "off"):
        return None
    limit, _, seconds = spec.partition("/")
    if not (limit.isdigit() and seconds.isdigit() and int(limit) >= 1 and int(seconds) >= 1):
        raise ValueError("must look like N/S (N requests every S seconds, both >= 1), or be off")
    return int(limit), int(seconds)


def _throttle(value: Any) -> str:
    spec = str(value).strip()
    parse_throttle(spec)
    return spec


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or str(value).lower() in ("0", "1", "true", "false"):
        return str(value).lower() in ("1", "true")
    raise ValueError("must be true or false")


class FaultError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _rate(value: Any) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("must be between 0 and 1")
    return rate


def _non_negative(value: Any) -> int:
    if isinstance(value, bool) or int(value) != float(value) or int(value) < 0:
        raise ValueError("must be a non-negative integer")
    return int(value)


def _positive(value: Any) -> int:
    number = _non_negative(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _envelope(value: Any) -> str:
    if value not in ENVELOPES:
        raise ValueError(f"must be one of {', '.join(ENVELOPES)}")
    return str(value)


def _timezone(value: Any) -> str:
    load_zone(str(value))
    return str(value)


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "latency_ms": _non_negative,
    "error_rate": _rate,
    "rate_limit_rate": _rate,
    "retry_after": str,  # sent verbatim: "0" and garbage are allowed on purpose
    "drop_rate": _rate,
    "token_ttl": _positive,
    "envelope": _envelope,
    "page_size": _positive,
    "timezone": _timezone,
    "seed": _non_negative,
    "throttle": _throttle,
    "iso_datetimes": _flag,
}


def clean_fault(name: str, value: Any) -> Any:
    cleaner = _CLEANERS.get(name)
    if cleaner is None:
        raise ValueError(f"unknown setting; known: {', '.join(_CLEANERS)}")
    if value is None:
        raise ValueError("must not be null")
    return cleaner(value)


class _MiddlewareState(Protocol):
    """What the middleware reads of ``sandbox.state.SandboxState`` (which imports this module)."""

    stats: Stats
    faults: FaultSettings
    clock: SandboxClock


def faultable(path: str) -> bool:
    return path.startswith(("/api/", "/oauth/")) or path in ("/api", "/oauth")


class SandboxMiddleware:
    """Counts /api and /oauth requests, injects faults there, and stamps every response's Date."""

    def __init__(self, app: ASGIApp, state: _MiddlewareState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counted = faultable(scope["path"])
        stats, faults = self.state.stats, self.state.faults

        limited: list[tuple[bytes, bytes]] = []

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"date"]
                headers.append((b"date", formatdate(self.state.clock.now(), usegmt=True).encode()))
                headers.extend(limited)
                message = {**message, "headers": headers}
                if counted:
                    stats.status(message["status"])
            await send(message)

        if counted:
            stats.request(scope["method"], scope["path"])
            if faults.window.limit and scope["path"].startswith("/api"):
                allowed, remaining, wait = faults.window.take()
                limited.append((b"x-ratelimit-limit", str(faults.window.limit).encode()))
                limited.append((b"x-ratelimit-remaining", str(remaining).encode()))
                if not allowed:
                    stats.fault("throttle")
                    extra = [
                        (b"retry-after", str(wait)),
                        (b"x-ratelimit-reset", str(int(time.time()) + wait)),
                    ]
                    await send_json(send_with_date, 429, {"message": "Too Many Attempts."}, extra)
                    return
            fault = faults.draw()
            if faults.current.latency_ms:
                await asyncio.sleep(faults.current.latency_ms / 1000)
            if fault is not None:
                stats.fault(fault)
                await self._inject(fault, scope, send_with_date)
                return
        await self.app(scope, receive, send_with_date)

    async def _inject(self, fault: str, scope: Scope, send: Send) -> None:
        faults = self.state.faults
        if fault == "drop":
            await drop_connection(scope, send)
        elif fault == "rate_limit":
            await send_json(
                send, 429, {"message": "Too Many Attempts."}, [(b"retry-after", faults.current.retry_after)]
            )
        else:
            status = faults.rng.choice(ERROR_STATUSES)
            await send_json(send, status, {"message": "Server Error"}, [])


async def send_json(send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, str]]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers.extend((name, value.encode("latin-1", "replace")) for name, value in extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def drop_connection(scope: Scope, send: Send) -> None:
    """Close the socket without any response (the client sees a connection error)."""
    transport = scope.get(TRANSPORT_KEY)
    if transport is not None:
        transport.abort()
        for _ in range(3):  # let the server notice the disconnect before the app returns
            await asyncio.sleep(0)
        return
    # Another ASGI server: start a response and break it off (the client sees a truncated reply).
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    raise ConnectionAbortedError("sandbox drop fault")
