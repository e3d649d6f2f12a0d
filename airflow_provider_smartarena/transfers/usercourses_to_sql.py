"""Incremental extraction of user course activities (``GET /api/usercourses``) into a SQL table.

How a run stays lossless and idempotent:

* The watermark ``W`` (the newest ``updated_at`` loaded) lives in a state table in the target
  database, keyed by (Smart ARENA connection, stream).
* A run records ``T0``, the server's clock (``Date`` header), requests ``updated_at > W - overlap``,
  and upserts on (``user_mapping_code``, ``course_mapping_code``) keeping the newest ``updated_at``.
* Batches are committed as they fill, without moving the watermark: nothing says pages arrive in
  ``updated_at`` order, so only a complete read proves what is covered. The new watermark,
  ``min(newest updated_at seen, T0 - 1 s)``, is written in the same transaction as the last batch. A
  crash or an Airflow retry re-reads the old window; upserts make the replay harmless.
* If the data moved under the pages (a record on two pages, the total or page count changed),
  the window is read once more; if it moves again (or the paging contradicts itself), the rows
  are kept but the watermark is not advanced and the task fails, in every mode: a partial read
  never ends green.
* A stored watermark after the server's clock (or one that cannot be read) fails the run before
  any page is read: it would make every later run read nothing.
* A record without its key cannot be stored: the other rows are kept, but the watermark is not
  advanced, nothing is marked deleted, and the task fails naming how many and the fields one had.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.resources import USER_COURSES, to_server_datetime
from airflow_provider_smartarena.transfers._base import SmartArenaSqlTransferBase
from airflow_provider_smartarena.transfers._loader import SqlLoader
from airflow_provider_smartarena.transfers._pages import (
    KeylessRecords,
    ReadGauge,
    failing_as_incomplete,
    incomplete_read_error,
    read_with_one_retry,
)
from airflow_provider_smartarena.transfers._schema import user_courses_spec
from airflow_provider_smartarena.transfers._state import (
    DEFAULT_STATE_TABLE,
    SmartArenaStateError,
    StateStore,
    StreamState,
    state_spec,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_smartarena.hooks.smartarena import Page, SmartArenaHook

DEFAULT_TABLE = "smartarena_user_courses"
MODES = ("incremental", "window", "full_refresh")
DEFAULT_OVERLAP = dt.timedelta(minutes=5)
_ONE_SECOND = dt.timedelta(seconds=1)
#: How far a stored watermark may be ahead of the server's clock before the run refuses it: the
#: ``Date`` header has one-second resolution and servers behind a load balancer differ a little.
WATERMARK_TOLERANCE = dt.timedelta(minutes=1)
_FORMAT = "%Y-%m-%d %H:%M:%S"


def _text(value: dt.datetime | None) -> str | None:
    return value.strftime(_FORMAT) if value is not None else None


def _as_overlap(value: dt.timedelta | float) -> dt.timedelta:
    overlap = value if isinstance(value, dt.timedelta) else dt.timedelta(minutes=float(value))
    if overlap < dt.timedelta(0):
        raise ValueError(f"overlap must not be negative, got {value!r}")
    return overlap


@dataclass
class _Bounds:
    """What a run asks for and keeps: ``updated_at > since``, then ``start <= updated_at < end``."""

    since: dt.datetime | None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @property
    def empty(self) -> bool:
        """An empty window, e.g. the zero-length data interval of a manual run in Airflow 3."""
        return self.start is not None and self.start == self.end

    def keeps(self, updated_at: dt.datetime | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if updated_at is None:
            return False
        return (self.start is None or updated_at >= self.start) and (
            self.end is None or updated_at < self.end
        )


@dataclass
class _Stats:
    passes: int = 0
    pages: int = 0
    records_read: int = 0
    duplicates: int = 0
    filtered: int = 0
    reread_in_overlap: int = 0
    after_t0: int = 0
    newest: dt.datetime | None = None
    oldest: dt.datetime | None = None
    drift: list[str] = field(default_factory=list)
    keyless: KeylessRecords = field(default_factory=KeylessRecords)

    def note(self, updated_at: dt.datetime | None, previous: StreamState | None, t0: dt.datetime) -> None:
        if updated_at is None:
            return
        if self.newest is None or updated_at > self.newest:
            self.newest = updated_at
        if self.oldest is None or updated_at < self.oldest:
            self.oldest = updated_at
        # The overlap's cost: rows at or before the previous watermark, read again on purpose.
        if previous is not None and updated_at <= previous.watermark:
            self.reread_in_overlap += 1
        if updated_at > t0:
            self.after_t0 += 1


class SmartArenaUserCoursesToSqlOperator(SmartArenaSqlTransferBase):
    """Copy user course activities into a table, incrementally by ``updated_at``.

    The table (created if missing) has one row per (``user_mapping_code``, ``course_mapping_code``),
    a typed column for every documented returned field, ``modules`` and ``live_sessions`` as JSON
    text, and ``_extracted_at`` / ``_deleted_at``. Rows are upserted in batches as pages arrive;
    an older record never overwrites a newer one. Returns (as XCom) and logs a run summary.

    :param smartarena_conn_id: the Smart ARENA connection. (templated)
    :param sql_conn_id: the target database connection (any common-sql hook). (templated)
    :param table: the target table. (templated)
    :param state_table: the table holding the watermarks (created if missing). (templated)
    :param mode: ``"incremental"`` (from the stored watermark), ``"window"`` (``[window_start,
        window_end)`` for backfills; never reads or writes the state), or ``"full_refresh"`` (reads
        everything, resets the watermark).
    :param overlap: how far before the watermark to re-read, a ``timedelta`` or minutes; covers
        records committed late on the server. The summary's ``rows_reread_in_overlap`` tells
        what it cost (rows at or before the previous watermark read again).
    :param window_start: start of the window (included), e.g. ``"{{ data_interval_start }}"``;
        naive values are in the server's time zone. (templated)
    :param window_end: end of the window (excluded), e.g. ``"{{ data_interval_end }}"``. (templated)
    :param mark_deleted: in ``full_refresh`` mode, set ``_deleted_at`` on rows the source no longer
        returns (only after a complete read). Not allowed with filters.
    :param max_concurrency: pages fetched at once when the envelope tells the page count.
    :param user_mapping_code: API filter: only this user's activities. (templated)
    :param type: API filter: course type (1, 5, 254, 253). (templated)
    :param date_finished: API filter: activities completed after this date. (templated)
    :param modules_data: include the course modules (the API's default). (templated)
    :param stream: name of the watermark in the state table; by default derived from the table
        and the filters, so differently filtered tasks keep separate watermarks. (templated)
    :param batch_size: the most rows per upsert and per transaction (smaller batches are written
        early while the API is the slower side; see docs/extraction.md, "Write-behind").
    :param sql_dialect: force ``"staged"`` or ``"merge"`` upserts instead of the hook's dialect.
    """

    template_fields: Sequence[str] = (
        *SmartArenaSqlTransferBase.template_fields,
        "state_table",
        "window_start",
        "window_end",
        "user_mapping_code",
        "type",
        "date_finished",
        "modules_data",
        "stream",
    )
    source_path = USER_COURSES.path

    def __init__(
        self,
        *,
        table: str = DEFAULT_TABLE,
        state_table: str = DEFAULT_STATE_TABLE,
        mode: str = "incremental",
        overlap: dt.timedelta | float = DEFAULT_OVERLAP,
        window_start: Any = None,
        window_end: Any = None,
        mark_deleted: bool = False,
        max_concurrency: int = 4,
        user_mapping_code: str | None = None,
        type: Any = None,
        date_finished: Any = None,
        modules_data: Any = True,
        stream: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(table=table, **kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "window" and (window_start is None or window_end is None):
            raise ValueError("mode='window' needs window_start and window_end")
        if mode != "window" and (window_start is not None or window_end is not None):
            raise ValueError("window_start and window_end are only used with mode='window'")
        if mark_deleted and mode != "full_refresh":
            raise ValueError("mark_deleted needs mode='full_refresh' (only a full read shows what is gone)")
        if mark_deleted and any(v is not None for v in (user_mapping_code, type, date_finished)):
            raise ValueError("mark_deleted cannot be combined with filters: unseen rows would be marked")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be a positive whole number, got {max_concurrency!r}")
        self.state_table = state_table
        self.mode = mode
        self.overlap = _as_overlap(overlap)
        self.window_start = window_start
        self.window_end = window_end
        self.mark_deleted = mark_deleted
        self.max_concurrency = max_concurrency
        self.user_mapping_code = user_mapping_code
        self.type = type
        self.date_finished = date_finished
        self.modules_data = modules_data
        self.stream = stream

    # ------------------------------------------------------------------ parameters

    def _filters(self) -> dict[str, Any]:
        return {
            "user_mapping_code": self.user_mapping_code,
            "type": self.type,
            "date_finished": self.date_finished,
            "modules_data": self.modules_data,
        }

    def stream_name(self) -> str:
        """The state key of this task: ``usercourses:<table>`` plus the filters that narrow it."""
        if self.stream:
            return self.stream
        narrowing = {k: v for k, v in self._filters().items() if k != "modules_data" and v is not None}
        suffix = "&".join(f"{k}={v}" for k, v in sorted(narrowing.items()))
        return f"usercourses:{self.table}" + (f"?{suffix}" if suffix else "")

    def _bounds(self, previous: StreamState | None, tz: ZoneInfo) -> _Bounds:
        if self.mode == "window":
            start = to_server_datetime(self.window_start, tz)
            end = to_server_datetime(self.window_end, tz)
            if end < start:
                raise ValueError(f"window_end ({end}) is before window_start ({start})")
            # The API filter is "strictly after" with one-second resolution: ask from one second
            # before start to include rows at exactly start; rows at or after end are dropped here.
            return _Bounds(since=start - _ONE_SECOND, start=start, end=end)
        if self.mode == "incremental" and previous is not None:
            return _Bounds(since=previous.watermark - self.overlap)
        return _Bounds(since=None)

    # ------------------------------------------------------------------ run

    def execute(self, context: Context) -> dict[str, Any]:
        summary = self._run_with_hook()
        self.log.info(
            "Smart ARENA usercourses -> %s (%s): %d pages, %d records read, %d duplicates collapsed, "
            "%d rows written, %d re-read in the overlap, watermark %s -> %s",
            self.table,
            self.mode,
            summary["pages"],
            summary["records_read"],
            summary["duplicates_collapsed"],
            summary["rows_written"],
            summary["rows_reread_in_overlap"],
            summary["previous_watermark"],
            summary["new_watermark"],
        )
        self.log.info("Run summary: %s", summary)
        self.emit_asset_event(
            context,
            {
                "rows_upserted": summary["rows_written"],
                "watermark": summary["new_watermark"],
                "mode": self.mode,
                "window": summary["window"],
            },
        )
        return summary

    def _run(self, hook: SmartArenaHook) -> dict[str, Any]:
        tz = hook.timezone
        # Bad input fails before any table is created or any request is sent.
        USER_COURSES.prepare(self._filters(), tz)
        for bound in (self.window_start, self.window_end):
            USER_COURSES.prepare({"updated_at": bound}, tz)
        # The database's work hides behind the API's latency while the API is the slower side.
        gauge = ReadGauge()
        loader = SqlLoader(
            self.get_sql_hook(),
            user_courses_spec(self.table),
            tz=tz,
            extracted_at=self.utc_now(),
            batch_size=self.batch_size,
            dialect=self.sql_dialect,
            # A backfill never reads nor writes the state, so it does not create its table either.
            extra_tables=() if self.mode == "window" else (state_spec(self.state_table),),
            lock=self._lock_name(),
            lock_timeout=self.lock_timeout,
            write_behind=gauge.reading_is_slower,
        )
        with loader:
            store = StateStore(loader.dialect, self.state_table, self.smartarena_conn_id, self.stream_name())
            # T0 before the first page: rows changed from now on are re-read by the next run.
            t0 = to_server_datetime(hook.server_now(), tz)
            previous = self._previous_state(store, loader.connection, tz, t0)
            bounds = self._bounds(previous, tz)
            stats = _Stats()
            with failing_as_incomplete(USER_COURSES.path, self._stream_label(), self._kept()):
                complete = self._read(hook, loader, bounds, stats, previous, t0, gauge)
            # A record without its key was not stored: the window is not covered, so the
            # watermark stays and no row is marked deleted (the keyless record may be any of them).
            covered = complete and not stats.keyless.count
            watermark = self._new_watermark(previous, stats, t0, covered)
            marked: list[int] = []

            def finish(cursor: Any) -> None:
                # The same transaction as the last batch: the watermark never covers uncommitted rows.
                if watermark is not None:
                    # The loader counts the batch of this transaction before calling here.
                    store.write(
                        cursor,
                        watermark,
                        tz,
                        mode=self.mode,
                        rows_written=loader.rows_written,
                        run_id=self._run_id(),
                    )
                if self.mark_deleted and covered:
                    marked.append(loader.mark_deleted(cursor))

            loader.flush(then=finish)
        kept = self._kept()
        stream = self._stream_label()
        if not complete:
            raise incomplete_read_error(USER_COURSES.path, stream, stats.drift, kept)
        if stats.keyless.count:
            if self.mark_deleted:
                kept = f"{kept} and no row was marked deleted"
            raise stats.keyless.error(USER_COURSES.path, stream, loader.spec.key, kept)
        return self._summary(tz, bounds, stats, loader, previous, watermark, t0, marked, complete)

    def _kept(self) -> str:
        """What a failed run leaves as it was, for its error message."""
        return "the watermark was not moved" if self.mode != "window" else "the window may have gaps"

    def _stream_label(self) -> str:
        return f"stream {self.stream_name()!r}"

    def _read(
        self,
        hook: SmartArenaHook,
        loader: SqlLoader,
        bounds: _Bounds,
        stats: _Stats,
        previous: StreamState | None,
        t0: dt.datetime,
        gauge: ReadGauge,
    ) -> bool:
        """Read the window (twice if it drifted) into the loader; True when a pass saw no drift."""
        if bounds.empty:
            self.log.info("The window [%s, %s) is empty: nothing to read", bounds.start, bounds.end)
            return True
        build_page = loader.builder.build_page
        put = loader.put
        # Rows at or before the previous watermark only say something about the overlap when
        # reading incrementally from it.
        reference = previous if self.mode == "incremental" else None

        def handle(records: Sequence[Any]) -> list[tuple[Any, ...] | None]:
            keys: list[tuple[Any, ...] | None] = []
            for index, (key, updated_at, row) in enumerate(build_page(records)):
                keyless = None in key
                if bounds.keeps(updated_at):
                    stats.note(updated_at, reference, t0)
                    put(key, updated_at, row)
                    if keyless:
                        stats.keyless.note(records[index])
                else:
                    stats.filtered += 1
                keys.append(None if keyless else key)
            return keys

        def between() -> None:
            loader.flush()
            stats.keyless.reset()  # the second pass reads the whole window again

        def open_pages() -> Iterator[Page]:
            return hook.iter_user_course_pages(
                updated_after=bounds.since,
                max_concurrency=self.max_concurrency,
                record_type=loader.builder.record_type,
                **self._filters(),
            )

        complete, passes = read_with_one_retry(
            open_pages, handle, between=between, log=self.log, read_ahead=loader.read_ahead, gauge=gauge
        )
        stats.passes = len(passes)
        for number, result in enumerate(passes, 1):
            stats.pages += result.pages
            stats.records_read += result.records
            stats.duplicates += result.duplicates
            stats.drift += [f"pass {number}: {reason}" for reason in result.drift]
        return complete

    def _lock_name(self) -> str | None:
        """The writers' lock of this run: its stream's, taken before any table is created."""
        # Backfill windows write no state, only newest-wins upserts: they may run in parallel.
        if self.mode == "window":
            return None
        return f"stream {self.stream_name()!r} of connection {self.smartarena_conn_id!r}"

    def _previous_state(
        self, store: StateStore, connection: Any, tz: ZoneInfo, t0: dt.datetime
    ) -> StreamState | None:
        """The stored state this run starts from, refused when it cannot be right.

        A watermark after the server's clock would make every run read nothing and succeed, so it
        fails the run (incremental mode); a full refresh replaces it, so there it is only logged.
        """
        if self.mode == "window":
            return None
        try:
            previous = store.read(connection, tz)
        except SmartArenaStateError as exc:
            if self.mode != "full_refresh":
                raise
            self.log.warning("Ignoring the stored state, which this full refresh replaces: %s", exc)
            return None
        if previous is None or previous.watermark <= t0 + WATERMARK_TOLERANCE:
            return previous
        problem = store.ahead_of_clock(previous.watermark, t0)
        if self.mode != "full_refresh":
            raise SmartArenaStateError(problem)
        self.log.warning("%s; this full refresh replaces it", problem)
        return None

    def _new_watermark(
        self, previous: StreamState | None, stats: _Stats, t0: dt.datetime, complete: bool
    ) -> dt.datetime | None:
        """The watermark to store, or None to leave the state as it is."""
        if self.mode == "window" or not complete or stats.newest is None:
            return None
        # Rows dated after T0 (changed during the run, or future-dated) must not move it past T0.
        # The Date header has one-second resolution: a row changed later in T0's own second is
        # dated T0, so the cap is the second before it.
        watermark = min(stats.newest, t0 - _ONE_SECOND)
        if self.mode == "incremental" and previous is not None and watermark <= previous.watermark:
            return None  # the overlap only re-read rows already covered
        return watermark

    def _run_id(self) -> str | None:
        try:
            from airflow.providers.common.compat.sdk import get_current_context

            return str(get_current_context()["run_id"])
        except Exception:  # execute() called outside a task run
            return None

    def _summary(
        self,
        tz: ZoneInfo,
        bounds: _Bounds,
        stats: _Stats,
        loader: SqlLoader,
        previous: StreamState | None,
        watermark: dt.datetime | None,
        t0: dt.datetime,
        marked: list[int],
        complete: bool,
    ) -> dict[str, Any]:
        previous_text = _text(previous.watermark) if previous else None
        return {
            "mode": self.mode,
            "table": self.table,
            "stream": self.stream_name(),
            "server_timezone": tz.key,
            "window": {
                "updated_after": _text(bounds.since),
                "start": _text(bounds.start),
                "end": _text(bounds.end),
            },
            "t0": _text(t0),
            "previous_watermark": previous_text,
            "new_watermark": _text(watermark) if watermark is not None else previous_text,
            "watermark_advanced": watermark is not None,
            "complete": complete,
            "passes": stats.passes,
            "drift": stats.drift,
            "pages": stats.pages,
            "records_read": stats.records_read,
            "duplicates_collapsed": stats.duplicates,
            "rows_filtered": stats.filtered,
            "rows_without_key": loader.skipped_without_key,
            "rows_written": loader.rows_written,
            "batches": loader.batches,
            "rows_reread_in_overlap": stats.reread_in_overlap,
            "rows_after_t0": stats.after_t0,
            "oldest_updated_at": _text(stats.oldest),
            "newest_updated_at": _text(stats.newest),
            "rows_marked_deleted": marked[-1] if marked else 0,
            "schema_changes": loader.schema_changes,
        }
