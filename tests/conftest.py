"""Shared fixtures: one Smart ARENA sandbox per test session (per xdist worker).

``sandbox`` is the running server (see airflow_provider_smartarena/sandbox/testing.py); read-only
tests may use it directly. Tests that change data, faults or the clock use ``fresh_sandbox``, which
resets it before and after the test (re-seeded with the sizes below; faults, stats and clock back to
their start values). ``migrated_airflow`` is an Airflow home to copy (see tests/_airflow.py).

The hook fixtures are shared by every suite that builds hooks (hook, probe, reliability ...):
``make_hook`` (a hook on a fresh connection id, with the keyword defaults of ``hook_defaults``, which
a directory's conftest may override), ``scripted`` (loopback servers that answer what a test
scripts, see tests/hook/scripted.py), ``log_events`` (every log event of the test) and ``now`` (the
current UTC time, read when the test starts rather than when its module is imported, which may be
minutes earlier in a long run).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import sys
import types
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from airflow import __version__ as airflow_version

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.sandbox.testing import SandboxServer, run_sandbox
from tests import _airflow
from tests._airflow import migrate
from tests._helpers import stopped_after
from tests.hook.scripted import Route, ScriptedServer

SANDBOX_OPTIONS: dict[str, Any] = {"seed": 1, "users": 50, "courses": 10, "activities": 500}
AIRFLOW_V_3 = int(airflow_version.split(".")[0]) >= 3
PACKAGE = SmartArenaHook.__module__.split(".")[0]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with run_sandbox(**SANDBOX_OPTIONS) as server:
        yield server


@pytest.fixture
def fresh_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The session sandbox, reset before the test and again after it (so ``sandbox`` stays clean)."""
    sandbox.reset(**SANDBOX_OPTIONS)
    yield sandbox
    sandbox.reset(**SANDBOX_OPTIONS)


@pytest.fixture
def sandbox_conn(fresh_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The reset sandbox, as the default Smart ARENA connection."""
    monkeypatch.setenv("AIRFLOW_CONN_SMARTARENA_DEFAULT", fresh_sandbox.connection_json())
    return fresh_sandbox


@pytest.fixture(scope="session")
def migrated_airflow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home whose SQLite metadata database is migrated once, for tests to copy.

    ``airflow db migrate`` costs tens of seconds of CPU; a copy, milliseconds. The migrated home is
    kept in pytest's cache directory (``.pytest_cache``; ``--cache-clear`` or ``make clean`` drop
    it), keyed by the Airflow version and the interpreter, so that later sessions do not migrate
    again. Without the cache plugin (``-p no:cacheprovider``) it lives in this session's temporary
    directory. xdist workers share it: the first to get the lock migrates, the others wait.
    """
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        key = hashlib.sha256(f"{airflow_version} {sys.executable}".encode()).hexdigest()[:12]
        shared = Path(cache.mkdir(f"smartarena-airflow-{airflow_version}-{key}"))
    else:
        root = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            root = root.parent  # this session's directory, above every worker's own
        shared = root / "smartarena-airflow-template"
        shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (shared / "migrated").exists():
                # A migration cut short leaves a database in between versions: start again.
                (shared / "airflow.db").unlink(missing_ok=True)
                migrate(shared)
                (shared / "migrated").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return shared


# ---------------------------------------------------------------------- markers for the fast loop
#
# ``make test-fast`` deselects the tests marked below. The marks are given here from what a test
# uses, so that a new test is classified without anyone remembering to mark it:
#
# - ``airflow_subprocess``: it uses ``migrated_airflow``, or calls (itself, or through functions of
#   its module or the fixtures it uses) a helper of tests/_airflow.py that starts Airflow's CLI;
#   tests marked ``airflow`` count too.
# - ``database``: its ``warehouse`` is PostgreSQL or MariaDB, or it connects to one by itself
#   (psycopg, psycopg2, mysql.connector, or the connect helpers of tests/transfers/conftest.py);
#   tests marked ``db`` count too.
# - ``child_process``: it starts a Python process of its own (a CLI run as a command, a child to
#   kill): it uses ``subprocess`` or ``multiprocessing``. Each such child pays Python's and often
#   Airflow's import again, seconds of CPU that the inner loop does without.
# - ``bench``: it runs a benchmark (its module imports the ``benchmarks`` package or its file is
#   named after a benchmark).

#: The helpers of tests/_airflow.py that start an Airflow process.
_AIRFLOW_STARTERS = {
    name: getattr(_airflow, name) for name in ("AIRFLOW", "run_airflow", "migrate", "api_server")
}
_DATABASE_CLIENTS = {"psycopg", "psycopg2", "mysql", "_pg_connect", "_maria_connect"}
_SERVER_WAREHOUSES = {"postgres", "mariadb"}
_PROCESS_MODULES = {"subprocess", "multiprocessing"}


def _names_used(function: Any, scope: dict[str, Any], depth: int = 3) -> set[str]:
    """Global names ``function`` uses, with those of the functions of ``scope`` it calls (to ``depth``)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return set()
    codes, names = [code], set()
    while codes:  # nested functions and comprehensions are constants of their parent
        current = codes.pop()
        names.update(current.co_names)
        codes += [c for c in current.co_consts if isinstance(c, types.CodeType)]
    if depth:
        for name in list(names):
            called = scope.get(name)
            if isinstance(called, types.FunctionType) and called.__module__ == function.__module__:
                names |= _names_used(called, scope, depth - 1)
    return names


def _uses(item: pytest.Function, wanted: Callable[[Any], bool]) -> bool:
    """Whether the test, or a fixture of this project it uses, names a global for which ``wanted`` holds."""
    functions = [item.function]
    for name in item.fixturenames:
        definitions = item._fixtureinfo.name2fixturedefs.get(name, ())
        functions += [d.func for d in definitions if d.baseid]  # fixtures of this project only
    for function in functions:
        scope = vars(sys.modules[function.__module__])
        if any(name in scope and wanted(scope[name]) for name in _names_used(function, scope)):
            return True
    return False


def _starts_airflow(value: Any) -> bool:
    return any(value is helper for helper in _AIRFLOW_STARTERS.values())


def _starts_a_process(value: Any) -> bool:
    """``subprocess`` or ``multiprocessing``, or anything of theirs (a function, a context object)."""
    module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in _PROCESS_MODULES


def _imports_benchmarks(module: types.ModuleType) -> bool:
    return any(
        isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "benchmarks"
        for value in vars(module).values()
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if (
            "migrated_airflow" in item.fixturenames
            or item.get_closest_marker("airflow") is not None
            or _uses(item, _starts_airflow)
        ):
            item.add_marker(pytest.mark.airflow_subprocess)
        if _uses(item, _starts_a_process):
            item.add_marker(pytest.mark.child_process)
        params = getattr(item, "callspec", None)
        warehouse = params.params.get("warehouse") if params is not None else None
        if (
            warehouse in _SERVER_WAREHOUSES
            or item.get_closest_marker("db") is not None
            or _DATABASE_CLIENTS & _names_used(item.function, vars(item.module))
        ):
            item.add_marker(pytest.mark.database)
        if _imports_benchmarks(item.module) or "benchmark" in item.path.name:
            item.add_marker(pytest.mark.bench)


# ---------------------------------------------------------------------- hooks, scripted servers, logs


@pytest.fixture
def now() -> dt.datetime:
    """The current time in UTC, whole seconds, read when the test starts."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def hook_defaults() -> dict[str, Any]:
    """Keyword arguments ``make_hook`` gives every hook: short waits, so retry tests stay fast."""
    return {"retry_backoff": 0.005, "retry_max_wait": 2.0, "max_retry_wait": 2.0}


@pytest.fixture
def make_hook(
    monkeypatch: pytest.MonkeyPatch, hook_defaults: dict[str, Any]
) -> Iterator[Callable[..., SmartArenaHook]]:
    """``make_hook(connection_json, **hook_kwargs)``: a hook on a fresh connection id, closed afterwards."""
    hooks: list[SmartArenaHook] = []

    def make(conn: str, **kwargs: Any) -> SmartArenaHook:
        conn_id = f"sa_{uuid.uuid4().hex[:10]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn)
        hook = SmartArenaHook(conn_id, **{**hook_defaults, **kwargs})
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        hook.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Route], ScriptedServer]]:
    """``scripted(route)``: a loopback server answering with ``route(request)``, closed afterwards."""
    yield from stopped_after(ScriptedServer, ScriptedServer.close)


class _EventHandler(logging.Handler):
    """Records stdlib log records as structlog-style event dicts (``event``, ``log_level``)."""

    def __init__(self, events: list[MutableMapping[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append({"event": record.getMessage(), "log_level": record.levelname.lower()})


@pytest.fixture
def log_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log event (DEBUG included) of the test, as structlog event dicts.

    Airflow 3 logs through structlog; Airflow 2 through the stdlib logger named after the class.
    """
    if not AIRFLOW_V_3:
        events: list[MutableMapping[str, Any]] = []
        handler = _EventHandler(events)
        # BaseHook names its logger "airflow.task.hooks.<module>.<class>"; plain loggers use the module.
        loggers = [logging.getLogger(f"airflow.task.hooks.{PACKAGE}"), logging.getLogger(PACKAGE)]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        try:
            yield events
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(handler)
                logger.setLevel(level)
        return
    import structlog
    import structlog.testing

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)
