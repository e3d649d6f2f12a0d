"""``smartarena-sandbox``: start a local Smart ARENA API emulator."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_smartarena.sandbox.clock import load_zone, parse_datetime
from airflow_provider_smartarena.sandbox.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ENVELOPES,
    FaultDefaults,
    SandboxConfig,
    SeedSizes,
)
from airflow_provider_smartarena.sandbox.faults import clean_fault
from airflow_provider_smartarena.sandbox.seed import epoch_seconds

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Settings = TypeVar("Settings", bound="DataclassInstance")

READY_MARKER = "SANDBOX_READY"
MAX_LIVE_RATE = 1000.0
#: The seed sizes with an option of their name each (--users, --branches, ...).
SIZE_OPTIONS = tuple(f.name for f in dataclasses.fields(SeedSizes) if f.name not in ("seed", "epoch"))
#: Fault settings whose option has another name (--seed seeds the data).
RENAMED_FAULT_OPTIONS = {"seed": "fault_seed"}


def build_parser() -> argparse.ArgumentParser:
    sizes, faults = SeedSizes(), FaultDefaults()
    parser = argparse.ArgumentParser(
        prog="smartarena-sandbox",
        description="A local Smart ARENA API emulator with seeded data, an admin API and fault injection.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    net = parser.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on")
    net.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (printed on start)")
    net.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the one accepted OAuth client_id")
    net.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="its client_secret")
    net.add_argument("--access-log", action="store_true", help="log every request")
    data = parser.add_argument_group("data")
    data.add_argument("--seed", type=int, default=sizes.seed, help="seed of the generated data")
    for name in SIZE_OPTIONS:
        data.add_argument(f"--{name}", type=int, default=getattr(sizes, name), help=f"number of {name}")
    data.add_argument(
        "--epoch", default=sizes.epoch, help="end of the seeded history, 'YYYY-MM-DD HH:MM:SS' UTC"
    )
    data.add_argument(
        "--db", default=None, help="SQLite file keeping state across restarts (default: memory)"
    )
    data.add_argument("--freeze-time", default=None, help="freeze the sandbox clock at 'YYYY-MM-DD HH:MM:SS'")
    fault = parser.add_argument_group("behaviour and faults (also PUT /_sandbox/faults)")
    fault.add_argument(
        "--timezone",
        "--app-timezone",
        default=faults.timezone,
        help="server (Laravel application) time zone of all datetimes and of the updated_at filter (IANA)",
    )
    fault.add_argument("--token-ttl", type=int, default=faults.token_ttl, help="token lifetime in seconds")
    fault.add_argument("--envelope", choices=ENVELOPES, default=faults.envelope, help="list envelope")
    fault.add_argument("--page-size", type=int, default=faults.page_size, help="records per page")
    fault.add_argument("--latency-ms", type=int, default=faults.latency_ms, help="added latency per request")
    fault.add_argument(
        "--error-rate", type=float, default=faults.error_rate, help="share of 500/502/503 answers"
    )
    fault.add_argument(
        "--rate-limit-rate", type=float, default=faults.rate_limit_rate, help="share of 429 answers"
    )
    fault.add_argument("--retry-after", default=faults.retry_after, help="Retry-After value sent with 429")
    fault.add_argument(
        "--drop-rate", type=float, default=faults.drop_rate, help="share of dropped connections"
    )
    fault.add_argument("--fault-seed", type=int, default=faults.seed, help="seed of the fault RNG")
    fault.add_argument(
        "--throttle",
        default=faults.throttle,
        help="Laravel's throttle: 'N/S' allows N /api requests a window of S seconds (429 + Retry-After "
        "past it; X-RateLimit-* headers on every answer); empty for none",
    )
    fault.add_argument(
        "--iso-datetimes",
        action="store_true",
        default=faults.iso_datetimes,
        help="serialise activities as Laravel 7+ does: UTC instants (...Z), dates as local midnight in UTC",
    )
    fault.add_argument(
        "--live",
        type=float,
        default=0.0,
        metavar="RATE",
        help="learners start, progress and finish courses on their own: RATE changes a second "
        f"(at most {MAX_LIVE_RATE:g}; half go to activities enrolled after start-up); 0 = off",
    )
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> SandboxConfig:
    """The config of the command line; exits with status 2 (argparse) on a bad value."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    sizes = _from_args(SeedSizes, args)
    faults = _from_args(FaultDefaults, args, RENAMED_FAULT_OPTIONS)
    return _from_args(SandboxConfig, args, sizes=sizes, faults=faults)


def _from_args(
    cls: type[Settings], args: argparse.Namespace, renamed: dict[str, str] | None = None, **given: Any
) -> Settings:
    """The settings dataclass ``cls`` with each field from the option of its name (``renamed``:
    field -> option), but for the ``given`` ones."""
    options = renamed or {}
    read = [f.name for f in dataclasses.fields(cls) if f.name not in given]
    return cls(**{name: getattr(args, options.get(name, name)) for name in read}, **given)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for setting in dataclasses.fields(FaultDefaults):  # each checked as PUT /_sandbox/faults does
        attr = RENAMED_FAULT_OPTIONS.get(setting.name, setting.name)
        try:
            clean_fault(setting.name, getattr(args, attr))
        except (ValueError, TypeError) as exc:
            parser.error(f"--{attr.replace('_', '-')}: {exc}")
    for name in ("seed", *SIZE_OPTIONS):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must not be negative")
    if not 0 <= args.live <= MAX_LIVE_RATE:  # also rejects nan
        parser.error(f"--live must be between 0 and {MAX_LIVE_RATE:g} changes a second, got {args.live:g}")
    if args.freeze_time is not None and parse_datetime(args.freeze_time, load_zone(args.timezone)) is None:
        parser.error("--freeze-time must look like 'YYYY-MM-DD HH:MM:SS'")
    try:
        epoch_seconds(args.epoch)
    except ValueError:
        parser.error("--epoch must look like 'YYYY-MM-DD HH:MM:SS'")


def options_to_argv(options: dict[str, Any]) -> list[str]:
    """``{"page_size": 10, "access_log": True}`` -> ``["--page-size", "10", "--access-log"]``."""
    argv: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not False and value is not None:
            argv.extend([flag, str(value)])
    return argv


def announce(url: str, config: SandboxConfig, loaded_from_db: bool, activities: int | None = None) -> None:
    """Print where the sandbox listens, its credentials and its data, then the ready marker.

    :param activities: how many activities were seeded; they are capped at users x courses (one per
        user and course), and the banner says so when that is fewer than asked for.
    """
    sizes = config.sizes
    print(f"Smart ARENA sandbox listening on {url}")
    print(f"  client_id:     {config.client_id}")
    print(f"  client_secret: {config.client_secret}")
    print(f"  token URL:     {url}/oauth/access_token")
    print(f"  API docs:      {url}/docs  (OpenAPI: {url}/openapi.json)")
    print(f"  admin API:     {url}/_sandbox/state, /_sandbox/tick, /_sandbox/faults, /_sandbox/stats")
    if config.live:
        print(f"  live:          {config.live:g} learner activity changes a second (--live)")
    if loaded_from_db:
        print(f"  data:          loaded from {config.db}")
    else:
        counts = " ".join(f"{name}={getattr(sizes, name)}" for name in SIZE_OPTIONS)
        print(
            f"  data:          seed={sizes.seed} {counts}" + (f" (saved to {config.db})" if config.db else "")
        )
        if activities is not None and activities < sizes.activities:
            print(
                f"  note:          {activities} activities seeded, not {sizes.activities}: at most one per "
                f"user and course (--users x --courses = {sizes.users * sizes.courses})"
            )
    ready = {"url": url, "client_id": config.client_id, "client_secret": config.client_secret}
    print(f"{READY_MARKER} {json.dumps(ready)}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    from airflow_provider_smartarena.sandbox.server import base_url, build_server

    config = config_from_args(argv)
    try:
        server, sock, state = build_server(config)
    except (OSError, ValueError) as exc:
        print(f"smartarena-sandbox: {exc}", file=sys.stderr)
        return 2
    announce(base_url(sock), config, state.loaded_from_db, len(state.store.activities))
    server.run(sockets=[sock])
    return 0
