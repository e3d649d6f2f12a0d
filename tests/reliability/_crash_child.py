"""A child process for the crash tests: one extraction or sync run that may be SIGKILLed.

:func:`run` is the target of a process forked from a ``forkserver`` that has imported Airflow and
the provider already (a fresh interpreter would spend seconds on imports before each kill). Its job:
``{"job": "extract" | "sync", "operator": {...keyword arguments...}, "kill_at": "..."}``. The test
kills it from outside (after a random delay, or while a page request is in flight), or the child
kills itself with SIGKILL at an exact point, which no cleanup code can follow either:

* ``rows:N``: when the loader has queued N rows (in the middle of a batch);
* ``commit:N:before`` / ``commit:N:after``: around the loader's N-th commit (rows written, not yet
  committed / committed);
* ``final:before`` / ``final:after``: around the commit that also writes the watermark.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from airflow_provider_smartarena.operators.sync import SmartArenaUserSyncOperator
from airflow_provider_smartarena.transfers import SmartArenaUserCoursesToSqlOperator
from airflow_provider_smartarena.transfers._loader import SqlLoader


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _CommitTrap:
    """A DB-API connection whose ``commit`` passes the kill points."""

    def __init__(self, connection: Any, loader: Any, trap: _Trap) -> None:
        self._connection = connection
        self._loader = loader
        self._trap = trap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def commit(self) -> None:
        self._trap.commit(self._loader, "before")
        self._connection.commit()
        self._trap.commit(self._loader, "after")


class _Trap:
    def __init__(self, kill_at: str) -> None:
        self.kind, _, rest = kill_at.partition(":")
        number, _, self.when = rest.partition(":")
        if self.kind == "final":
            self.when, self.number = number, 0
        else:
            self.number = int(number)
        self.rows = 0
        self.commits = 0

    def row(self) -> None:
        self.rows += 1
        if self.kind == "rows" and self.rows == self.number:
            die()

    def commit(self, loader: Any, when: str) -> None:
        if when == "before":
            self.commits += 1
        if self.kind == "commit" and self.commits == self.number and self.when == when:
            die()
        if self.kind == "final" and getattr(loader, "_final_flush", False) and self.when == when:
            die()


def install(kill_at: str) -> None:
    """Patch the loader so that the process SIGKILLs itself at ``kill_at``."""
    trap = _Trap(kill_at)
    real_open = SqlLoader._open  # what every write goes through, on the writer thread too
    real_put, real_flush = SqlLoader.put, SqlLoader.flush

    def connection(self: SqlLoader) -> Any:
        return _CommitTrap(real_open(self), self, trap)

    def put(self: SqlLoader, *args: Any, **kwargs: Any) -> bool:
        trap.row()
        return real_put(self, *args, **kwargs)

    def flush(self: SqlLoader, then: Any = None) -> None:
        self._final_flush = then is not None  # type: ignore[attr-defined]
        real_flush(self, then)

    SqlLoader._open = connection  # type: ignore[method-assign]
    SqlLoader.put = put  # type: ignore[method-assign]
    SqlLoader.flush = flush  # type: ignore[method-assign]


class _TaskInstance:
    def xcom_push(self, key: str, value: Any) -> None:
        print(f"CHILD XCOM {key} " + json.dumps(value, default=str), flush=True)


def run(spec: dict[str, Any], environ: dict[str, str], log_path: str) -> None:
    """Run one job with the test's environment (its connections), printing to ``log_path``."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.clear()
    os.environ.update(environ)
    if spec.get("kill_at"):
        install(spec["kill_at"])
    if spec["job"] == "extract":
        summary = SmartArenaUserCoursesToSqlOperator(task_id="extract", **spec["operator"]).execute({})
    else:
        operator = SmartArenaUserSyncOperator(task_id="sync", **spec["operator"])
        summary = operator.execute({"run_id": "crash-child", "ti": _TaskInstance()})
    print("CHILD SUMMARY " + json.dumps(summary, default=str), flush=True)
