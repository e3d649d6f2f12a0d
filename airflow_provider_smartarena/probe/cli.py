"""``smartarena-probe``: check a Smart ARENA tenant against the provider's assumptions, read-only.

    smartarena-probe --conn-id smartarena_default [--json report.json] [--short]

The connection comes from Airflow (an ``AIRFLOW_CONN_<ID>`` variable, a secrets backend or the
metastore). Exit status: 0 all fits, 1 the probe ran and found something to change (see the
verdict), 2 the probe could not run (unknown connection, bad credentials, unreachable host, TLS).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from airflow_provider_smartarena import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_smartarena.probe.model import ProbeReport

EXIT_OK, EXIT_ADVICE, EXIT_FAILED = 0, 1, 2
_PROG = "smartarena-probe"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Check a Smart ARENA tenant against the provider's assumptions (list envelopes, fields, "
            "datetime format, time zone, updated_at filter, token lifetime). Read-only: one token "
            "request and GET calls."
        ),
    )
    parser.add_argument("--conn-id", default=DEFAULT_CONN_ID, help="Airflow connection id")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH ('-': stdout)")
    parser.add_argument(
        "--short", action="store_true", help="token and reachability only (what test_connection checks)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--retries", type=int, default=1, help="retries of a failed request (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probe; print the table (or JSON) and return the exit status."""
    args = _parser().parse_args(argv)
    secrets: list[str] = []
    try:
        report = _probe(args.conn_id, args.short, args.timeout, args.retries, secrets)
    except Exception as err:  # the last resort: one line, never a traceback or a secret
        _fail(_redact(f"{type(err).__name__}: {err}", secrets))
        return EXIT_FAILED
    return _output(report, args.json)


def _probe(conn_id: str, short: bool, timeout: float, retries: int, secrets: list[str]) -> ProbeReport:
    # Imported here so that --help does not wait for Airflow to load.
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
    from airflow_provider_smartarena.probe.checks import probe

    _quiet_logs()
    with SmartArenaHook(conn_id, timeout=timeout, max_retries=max(0, retries)) as hook:
        # probe() reports an unusable connection itself; here the secret is only noted to redact it.
        with contextlib.suppress(Exception):
            secrets.append(hook.settings.client_secret)
        return probe(hook, short=short)


def _quiet_logs() -> None:
    """Warnings only, on stderr: logs must not interleave with the table or JSON on stdout."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        from airflow.sdk.log import configure_logging
    except ImportError:  # Airflow 2 logs through the standard library
        _stdlib_logs_to_stderr()
        return
    configure_logging(log_level="WARNING", output=sys.stderr, colored_console_log=False)


def _stdlib_logs_to_stderr() -> None:
    """Airflow 2 configured the root logger at import, with a console handler on stdout at INFO.

    Console handlers are replaced by stderr ones (same format and filters, secret masking included)
    that pass warnings only: a level on the root logger would not stop INFO records propagated from
    ``airflow.task.*`` loggers, which have a level of their own.
    """
    consoles = (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__)
    root = logging.getLogger()
    for old in list(root.handlers):
        if not isinstance(old, logging.StreamHandler) or old.stream not in consoles:
            continue
        new = logging.StreamHandler(sys.stderr)
        new.setFormatter(old.formatter)
        for log_filter in old.filters:
            new.addFilter(log_filter)
        new.setLevel(logging.WARNING)
        root.removeHandler(old)
        root.addHandler(new)


def _output(report: ProbeReport, json_path: str | None) -> int:
    from airflow_provider_smartarena.probe.report import render, to_json, write_json

    if json_path == "-":
        print(to_json(report))
    elif report.failure is None:
        print(render(report))
    if json_path and json_path != "-":
        try:
            write_json(report, json_path)
        except OSError as err:
            _fail(f"cannot write {json_path}: {err.strerror or err}")
            return EXIT_FAILED
    if report.failure is not None:
        _fail(report.failure.message)
        return EXIT_FAILED
    return EXIT_OK if report.ok else EXIT_ADVICE


def _fail(message: str) -> None:
    print(f"{_PROG}: {message}", file=sys.stderr)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())  # one line


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
