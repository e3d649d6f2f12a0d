"""Dimension snapshots: users, org units, locations, workplaces, qualifications, courses, content.

Each run reads the whole resource and upserts it on its key (``mapping_code``; ``id`` for content),
through the same loader as the activity extraction. With ``mark_deleted=True``, rows the source no
longer returns get ``_deleted_at`` — only after a complete read, in the same transaction as the
last batch. A read that is not complete (the paging contradicted itself, or the data moved under
the pages twice) marks nothing and fails the task. Passwords are never read into a column: the
specs hold only the fields a GET returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_smartarena.resources import (
    BRANCHES,
    CONTENT,
    COURSES,
    LOCATIONS,
    QUALIFICATIONS,
    USERS,
    WORKPLACES,
    Endpoint,
)
from airflow_provider_smartarena.transfers._base import SmartArenaSqlTransferBase
from airflow_provider_smartarena.transfers._loader import SqlLoader
from airflow_provider_smartarena.transfers._pages import (
    KeylessRecords,
    ReadGauge,
    failing_as_incomplete,
    incomplete_read_error,
    read_with_one_retry,
)
from airflow_provider_smartarena.transfers._schema import DIMENSIONS, dimension_spec

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import Page, SmartArenaHook

#: The list endpoint of each snapshot-able resource.
ENDPOINTS: dict[str, Endpoint] = {
    "users": USERS.list,
    "branches": BRANCHES.list,
    "locations": LOCATIONS.list,
    "workplaces": WORKPLACES.list,
    "qualifications": QUALIFICATIONS.list,
    "courses": COURSES.list,
    "content": CONTENT,
}


class SmartArenaToSqlOperator(SmartArenaSqlTransferBase):
    """Snapshot one Smart ARENA resource into its own table (created if missing).

    One row per record, keyed by ``mapping_code`` (``id`` for content), a typed column per
    documented field (lists such as ``roles`` or a course's ``users`` as JSON text), plus
    ``_extracted_at`` and ``_deleted_at``. Returns (as XCom) and logs a run summary.

    :param resource: ``users``, ``branches``, ``locations``, ``workplaces``, ``qualifications``,
        ``courses`` or ``content``.
    :param table: the target table, by default ``smartarena_<resource>``. (templated)
    :param smartarena_conn_id: the Smart ARENA connection. (templated)
    :param sql_conn_id: the target database connection (any common-sql hook). (templated)
    :param filters: parameters of the list call, e.g. ``{"archived": 0}`` for courses or
        ``{"content_type": 1}`` for content. (templated)
    :param mark_deleted: set ``_deleted_at`` on rows the source no longer returns (not allowed
        with filters, which would make every filtered-out row look deleted).
    :param max_concurrency: pages fetched at once when the envelope tells the page count.
    :param batch_size: the most rows per upsert and per transaction (smaller batches are written
        early while the API is the slower side; see docs/extraction.md, "Write-behind").
    :param sql_dialect: force ``"staged"`` or ``"merge"`` upserts instead of the hook's dialect.
    """

    template_fields: Sequence[str] = (*SmartArenaSqlTransferBase.template_fields, "filters")
    template_fields_renderers = {"filters": "json"}

    def __init__(
        self,
        *,
        resource: str,
        table: str | None = None,
        filters: dict[str, Any] | None = None,
        mark_deleted: bool = False,
        max_concurrency: int = 4,
        **kwargs: Any,
    ) -> None:
        if resource not in DIMENSIONS:
            raise ValueError(f"resource must be one of {', '.join(DIMENSIONS)}, got {resource!r}")
        if mark_deleted and filters:
            raise ValueError("mark_deleted cannot be combined with filters: unseen rows would be marked")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be a positive whole number, got {max_concurrency!r}")
        super().__init__(table=table or f"smartarena_{resource}", **kwargs)
        self.resource = resource
        self.source_path = ENDPOINTS[resource].path
        self.filters = filters or {}
        self.mark_deleted = mark_deleted
        self.max_concurrency = max_concurrency

    def _kept(self) -> str:
        """What a failed snapshot leaves as it was, for its error message."""
        return "no row was marked deleted" if self.mark_deleted else "the snapshot may have gaps"

    def execute(self, context: Context) -> dict[str, Any]:
        summary = self._run_with_hook()
        self.log.info(
            "Smart ARENA %s -> %s: %d records read, %d rows written, %d marked deleted",
            self.resource,
            self.table,
            summary["records_read"],
            summary["rows_written"],
            summary["rows_marked_deleted"],
        )
        self.log.info("Run summary: %s", summary)
        self.emit_asset_event(context, {"rows_upserted": summary["rows_written"], "resource": self.resource})
        return summary

    def _run(self, hook: SmartArenaHook) -> dict[str, Any]:
        spec = dimension_spec(self.resource, self.table)
        endpoint = ENDPOINTS[self.resource]
        # The database's work hides behind the API's latency while the API is the slower side.
        gauge = ReadGauge()
        loader = SqlLoader(
            self.get_sql_hook(),
            spec,
            tz=hook.timezone,
            extracted_at=self.utc_now(),
            batch_size=self.batch_size,
            dialect=self.sql_dialect,
            lock=f"the {self.resource} snapshot {self.table!r} of connection {self.smartarena_conn_id!r}",
            lock_timeout=self.lock_timeout,
            write_behind=gauge.reading_is_slower,
        )
        with loader:

            def open_pages() -> Iterator[Page]:
                return hook.iter_pages(
                    endpoint,
                    max_concurrency=self.max_concurrency,
                    record_type=loader.builder.record_type,
                    **self.filters,
                )

            keyless = KeylessRecords()

            def handle(records: Sequence[Any]) -> list[tuple[Any, ...] | None]:
                keys: list[tuple[Any, ...] | None] = []
                for index, (key, version, row) in enumerate(loader.builder.build_page(records)):
                    loader.put(key, version, row)
                    if None in key:
                        keyless.note(records[index])
                        keys.append(None)
                    else:
                        keys.append(key)
                return keys

            def between() -> None:
                loader.flush()
                keyless.reset()  # the second pass reads the whole listing again

            with failing_as_incomplete(endpoint.path, f"table {self.table}", self._kept()):
                complete, passes = read_with_one_retry(
                    open_pages,
                    handle,
                    between=between,
                    log=self.log,
                    read_ahead=loader.read_ahead,
                    gauge=gauge,
                )
            marked: list[int] = []

            def finish(cursor: Any) -> None:
                # Only a complete read shows what is gone: a partial one must never mark rows deleted,
                # nor may one with a record that could not be stored (it may be any row's).
                if self.mark_deleted and complete and not keyless.count:
                    marked.append(loader.mark_deleted(cursor))

            loader.flush(then=finish)
        drift = [f"pass {n}: {reason}" for n, p in enumerate(passes, 1) for reason in p.drift]
        kept = self._kept()
        if not complete:
            raise incomplete_read_error(endpoint.path, f"table {self.table}", drift, kept)
        if keyless.count:
            raise keyless.error(endpoint.path, f"table {self.table}", spec.key, kept)
        return {
            "resource": self.resource,
            "table": self.table,
            "complete": complete,
            "passes": len(passes),
            "drift": drift,
            "pages": sum(p.pages for p in passes),
            "records_read": sum(p.records for p in passes),
            "duplicates_collapsed": sum(p.duplicates for p in passes),
            "rows_without_key": loader.skipped_without_key,
            "rows_written": loader.rows_written,
            "batches": loader.batches,
            "rows_marked_deleted": marked[-1] if marked else 0,
            "schema_changes": loader.schema_changes,
        }
