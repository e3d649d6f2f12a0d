"""What the Smart ARENA → SQL transfers share: hooks, the table asset, and OpenLineage facets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import Asset, BaseHook, BaseOperator

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.transfers._loader import DEFAULT_BATCH_SIZE, DEFAULT_LOCK_TIMEOUT
from airflow_provider_smartarena.transfers._schema import check_identifier

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.common.sql.hooks.sql import DbApiHook

ASSET_SCHEME = "smartarena-sql"


def table_asset(sql_conn_id: str, table: str) -> Asset:
    """The Asset a transfer updates: ``smartarena-sql://<sql_conn_id>/<table>``.

    Built from names only (no connection lookup), so a DAG file can build it at parse time, and
    a downstream DAG can be scheduled on ``table_asset("warehouse", "smartarena_user_courses")``.
    """
    return Asset(f"{ASSET_SCHEME}://{sql_conn_id}/{table}")


def _templated(*values: Any) -> bool:
    return any(isinstance(v, str) and "{{" in v for v in values)


class SmartArenaSqlTransferBase(BaseOperator):
    """Base of the operators that copy Smart ARENA data into a table of any common-sql database.

    :param smartarena_conn_id: the Smart ARENA connection. (templated)
    :param sql_conn_id: the target database; any connection whose hook is a common-sql
        ``DbApiHook`` (SQLite, PostgreSQL, MySQL/MariaDB, Snowflake ...). (templated)
    :param table: the target table, optionally ``schema.table``; created if missing. (templated)
    :param batch_size: the most rows per upsert statement and per transaction.
    :param sql_dialect: force the upsert flavour instead of the hook's dialect: ``"staged"``
        (staging table + delete/insert, any database) or ``"merge"`` (staging table + MERGE).
    :param sql_hook_params: extra keyword arguments for the database hook.
    :param hook_params: arguments of the Smart ARENA hook, e.g. ``{"max_retry_wait": 300}`` (the
        keys of ``SmartArenaHook.hook_param_names()``); checked when the task is declared.
    :param lock_timeout: how long a run waits for another run writing the same stream (seconds or
        a ``timedelta``; default 10 minutes) before it fails naming the stream. Writers of one
        stream are serialised: a PostgreSQL advisory lock, ``GET_LOCK`` on MySQL/MariaDB, a file
        lock beside a SQLite database.
    """

    template_fields: Sequence[str] = ("smartarena_conn_id", "sql_conn_id", "table")
    ui_color = "#c7e9f1"
    #: The API path read, for lineage.
    source_path = "/api"

    def __init__(
        self,
        *,
        table: str,
        smartarena_conn_id: str = SmartArenaHook.default_conn_name,
        sql_conn_id: str = "sqlite_default",
        batch_size: int = DEFAULT_BATCH_SIZE,
        sql_dialect: str | None = None,
        sql_hook_params: dict[str, Any] | None = None,
        hook_params: dict[str, Any] | None = None,
        lock_timeout: float | dt.timedelta = DEFAULT_LOCK_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        if "outlets" not in kwargs and not _templated(sql_conn_id, table):
            kwargs["outlets"] = [table_asset(sql_conn_id, table)]
        super().__init__(**kwargs)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
        seconds = lock_timeout.total_seconds() if isinstance(lock_timeout, dt.timedelta) else lock_timeout
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 86400:
            raise ValueError(
                "lock_timeout must be seconds (or a timedelta) from 0 to less than a day, "
                f"got {lock_timeout!r}"
            )
        if not _templated(table):
            check_identifier(table)
        self.smartarena_conn_id = smartarena_conn_id
        self.sql_conn_id = sql_conn_id
        self.table = table
        self.batch_size = batch_size
        self.sql_dialect = sql_dialect
        self.sql_hook_params = sql_hook_params
        self.hook_params = SmartArenaHook.check_hook_params(hook_params)
        self.lock_timeout = float(seconds)
        self._rows_written: int | None = None

    # ------------------------------------------------------------------ hooks

    def get_smartarena_hook(self) -> SmartArenaHook:
        """The Smart ARENA hook of this run (override to customise, e.g. retries or timeouts)."""
        return SmartArenaHook.for_task(self.smartarena_conn_id, self.hook_params)

    def get_sql_hook(self) -> DbApiHook:
        """The target database's hook, found from the connection type as ``GenericTransfer`` does."""
        # Imported here: common.sql is heavy, and DAG files are parsed far more often than run.
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        hook = BaseHook.get_connection(self.sql_conn_id).get_hook(hook_params=self.sql_hook_params)
        if not isinstance(hook, DbApiHook):
            raise TypeError(
                f"connection {self.sql_conn_id!r} has a {type(hook).__name__}, not a common-sql DbApiHook"
            )
        return hook

    def _run_with_hook(self) -> dict[str, Any]:
        """Run :meth:`_run` with this run's Smart ARENA hook, closed afterwards; return its summary.

        The summary's ``rows_written`` is kept for the OpenLineage output statistics.
        """
        hook = self.get_smartarena_hook()
        try:
            summary = self._run(hook)
        finally:
            hook.close()
        self._rows_written = summary["rows_written"]
        return summary

    def _run(self, hook: SmartArenaHook) -> dict[str, Any]:
        """Copy the data with ``hook`` and return the run's summary (``rows_written`` among its keys)."""
        raise NotImplementedError

    @staticmethod
    def utc_now() -> dt.datetime:
        """Now in UTC, naive (how ``_extracted_at`` and ``_deleted_at`` are stored)."""
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)

    # ------------------------------------------------------------------ asset events & lineage

    def emit_asset_event(self, context: Context, extra: dict[str, Any]) -> None:
        """Attach ``extra`` to the outlet event of every Asset this task updates."""
        outlet_events = context.get("outlet_events") if hasattr(context, "get") else None
        if outlet_events is None:  # an execute() called outside a task run
            return
        for outlet in self.outlets or ():
            if not isinstance(outlet, Asset):
                continue
            try:
                event = outlet_events[outlet]
                event.extra = {**(event.extra or {}), **extra}
            except (KeyError, TypeError, AttributeError) as exc:  # shape differs across Airflow versions
                self.log.debug("no outlet event for %s: %s", outlet, exc)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: input the Smart ARENA endpoint, output the table (None without OpenLineage)."""
        try:
            from airflow.providers.common.compat.openlineage.facet import (
                Dataset,
                OutputDataset,
                OutputStatisticsOutputDatasetFacet,
            )
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        source = Dataset(namespace=self.get_smartarena_hook().base_url, name=self.source_path)
        namespace, name = self._lineage_table()
        facets = {}
        if self._rows_written is not None:
            facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=self._rows_written)
        output = OutputDataset(namespace=namespace, name=name, outputFacets=facets)
        return OperatorLineage(inputs=[source], outputs=[output])

    def _lineage_table(self) -> tuple[str, str]:
        hook = self.get_sql_hook()
        connection = hook.get_connection(self.sql_conn_id)
        info = None
        try:
            info = hook.get_openlineage_database_info(connection)
        except Exception as exc:  # optional metadata: lineage must never fail the task
            self.log.debug("no OpenLineage database info: %s", exc)
        if info is not None and getattr(info, "authority", None):
            namespace = f"{info.scheme}://{info.authority}"
            database = info.database or connection.schema
        else:
            namespace = f"{hook.dialect_name}://{connection.host or self.sql_conn_id}"
            database = connection.schema
        name = self.table if "." in self.table or not database else f"{database}.{self.table}"
        return namespace, name
