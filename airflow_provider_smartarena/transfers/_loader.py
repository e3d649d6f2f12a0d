"""The one loader both transfers share: create the table, upsert batches, commit with the state.

A :class:`SqlLoader` holds one database connection for the whole run (one connection rather than
one per batch: SQLite would otherwise reopen its file, PostgreSQL re-authenticate), and one more
for each writer beyond the first where the dialect has several (see below). Records are
turned into typed rows, collapsed by key within the pending batch (newest ``updated_at`` wins),
and written with the dialect's upsert when the batch is full. Each batch is its own transaction;
:meth:`SqlLoader.flush` can run more statements (the watermark, deletion marks) in the same one.

With ``write_behind`` a database server's work on a batch (PostgreSQL's ``COPY`` and upsert,
MariaDB's ``LOAD DATA`` and upsert: tens of milliseconds a batch) overlaps with the reading and
building of the next one, on a writer thread. Where the dialect allows more than one writer (the
MySQL family, whose server works a connection's statements on one thread), batches go on
several connections at once; two batches in flight never share a key, so every key's rows are
committed in the order they arrived, as by one writer. The last batch, with the state, is always
written by the caller's thread once every batch in flight is committed, so a failure in the
background surfaces before anything that needs a complete load.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from airflow_provider_smartarena.exceptions import SmartArenaError, SmartArenaResponseError
from airflow_provider_smartarena.resources import parse_datetime
from airflow_provider_smartarena.transfers._bulk import UniqueRows
from airflow_provider_smartarena.transfers._bulk import older as _older
from airflow_provider_smartarena.transfers._dialects import Dialect, Row, get_dialect
from airflow_provider_smartarena.transfers._schema import (
    DELETED_AT,
    EXTRACTED_AT,
    JSON_ENCODER,
    TableSpec,
    converters,
    raw_json_text,
    typed_record,
)

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

log = logging.getLogger(__name__)

# A transaction rewrites every index page it touches (and journals it first), and a table's key
# index takes rows in no particular order, so small transactions make the cost of a row grow with
# the table. A larger batch touches each page once for more rows, at the price of the batch held in
# memory (a few MB at this size, whatever the size of the result). `make bench` measures the
# extraction with this default at several table sizes (docs/benchmarks.md).
DEFAULT_BATCH_SIZE = 5000
#: Seconds a run waits for another writer of the same stream (a nightly reconcile can take minutes).
DEFAULT_LOCK_TIMEOUT = 600.0
#: Times a batch is written again after the database chose it as a deadlock's victim (two writers'
#: upserts can lock the same index gaps in opposite orders).
DEADLOCK_RETRIES = 3


def _existing_columns(connection: Any, spec: TableSpec) -> set[str]:
    """The table's column names in lower case; empty if it does not exist."""
    with closing(connection.cursor()) as cur:
        try:
            # A probe rather than CREATE ... IF NOT EXISTS or an inspector: works on every database.
            cur.execute(f"SELECT * FROM {spec.name} WHERE 1 = 0")
            existing = {d[0].lower() for d in cur.description or ()}
            cur.fetchall()
            return existing
        except Exception:
            connection.rollback()  # PostgreSQL aborts the transaction after a failed statement
            return set()


def ensure_table(connection: Any, dialect: Dialect, spec: TableSpec) -> list[str]:
    """Create ``spec``'s table if missing, add any missing column; commit. Return what was done.

    An existing table is first checked (:meth:`Dialect.check_table`): one that would merge
    distinct keys is refused before anything is written. Creation is idempotent under races:
    when another writer created the table between the probe and the ``CREATE`` (PostgreSQL then
    fails on ``pg_type_typname_nsp_index``), the table is probed again and used.
    """
    done: list[str] = []
    existing = _existing_columns(connection, spec)
    if not existing:
        try:
            with closing(connection.cursor()) as cur:
                for statement in dialect.create_table_sql(spec):
                    cur.execute(statement)
            connection.commit()
            return [f"created {spec.name}"]
        except Exception:
            connection.rollback()
            existing = _existing_columns(connection, spec)
            if not existing:  # not a race: the CREATE itself failed
                raise
    dialect.check_table(connection, spec)
    with closing(connection.cursor()) as cur:
        for column in spec.columns:
            if column.name.lower() not in existing:
                cur.execute(dialect.add_column_sql(spec, column))
                done.append(f"added {spec.name}.{column.name}")
    connection.commit()
    return done


class RowBuilder:
    """Turns API records into row tuples in the spec's column order, typed for the dialect."""

    def __init__(self, spec: TableSpec, dialect: Dialect, tz: dt.tzinfo, extracted_at: dt.datetime) -> None:
        data_columns = [c for c in spec.columns if c.name not in (EXTRACTED_AT, DELETED_AT)]
        if [c.name for c in spec.columns[len(data_columns) :]] != [EXTRACTED_AT, DELETED_AT]:
            raise ValueError(f"{spec.name}: {EXTRACTED_AT} and {DELETED_AT} must be the last columns")
        convert = converters(spec, tz, dates_as_text=dialect.dates_as_text)
        self._fields = list(zip([c.name for c in data_columns], convert, strict=True))
        stamp_adapter = dialect.adapt("timestamp")
        #: The run's ``_extracted_at`` value as bound to the database.
        self.stamp = stamp_adapter(extracted_at) if stamp_adapter else extracted_at
        # Every row this run writes carries the same _extracted_at; a re-seen row clears _deleted_at.
        self._suffix = (self.stamp, None)
        names = [c.name for c in data_columns]
        self._key_index = [names.index(k) for k in spec.key]
        self._version_index = names.index(spec.version) if spec.version else None
        # Where the row holds the version as text, it is parsed on its own for comparisons.
        self._version_parser = (
            (lambda value: parse_datetime(value, tz)) if spec.version and dialect.dates_as_text else None
        )
        self._version_name = spec.version or ""
        self._key_names = spec.key
        self._types = {c.name: c.type for c in data_columns}
        struct, converted = typed_record(spec)
        #: Records of this type (see SmartArenaHook.iter_pages' ``record_type``) are built directly;
        #: their JSON columns hold the server's text (``msgspec.Raw``).
        self.record_type, _ = typed_record(spec, raw_json=True)
        self._page_type: Any = list[struct]  # type: ignore[valid-type]
        kinds = [data_columns[i].type for i in converted]
        as_text = dialect.dates_as_text
        # Dates kept as text are checked inline (a call per value would cost more than the rest of
        # the row); JSON is encoded inline; anything else goes through its converter.
        self._text_dates = [
            (i, 19 if kind == "datetime" else 10, convert[i])
            for i, kind in zip(converted, kinds, strict=True)
            if as_text and kind in ("datetime", "date")
        ]
        self._json_columns = [i for i, kind in zip(converted, kinds, strict=True) if kind == "json"]
        self._other_converted = [
            (i, convert[i])
            for i, kind in zip(converted, kinds, strict=True)
            if kind != "json" and not (as_text and kind in ("datetime", "date"))
        ]
        # A version held as text in the API's own form is parsed by the C parser directly.
        self._version_text = bool(spec.version) and as_text

    def build_page(self, records: Sequence[Any]) -> list[tuple[tuple[Any, ...], Any, Row]]:
        """:meth:`build` for every record of a page, the same rows at a fraction of the cost.

        Records are dicts, or :attr:`record_type` instances when the hook decoded them so. Dicts
        are type-checked in one C call; only dates, datetimes and JSON columns are converted in
        Python. A page with any value the strict check refuses (a number sent as text, a record
        that is not an object) is built record by record, which converts or explains it.
        """
        typed: Sequence[Any] = records
        if not records or type(records[0]) is not self.record_type:  # not decoded typed by the hook
            try:
                typed = msgspec.convert(records, self._page_type, strict=True)
            except msgspec.ValidationError:
                return [self.build(record) for record in records]
        astuple, encode, suffix = msgspec.structs.astuple, JSON_ENCODER.encode, self._suffix
        raw = msgspec.Raw
        text_dates, json_columns, others = self._text_dates, self._json_columns, self._other_converted
        key_index, version_index = self._key_index, self._version_index
        built = []
        for item in typed:
            values = list(astuple(item))
            try:
                for i, length, convert in text_dates:
                    value = values[i]
                    # The API's own form (see _schema._is_canonical) is stored as it is.
                    if value is not None and not (
                        value.__class__ is str
                        and len(value) == length
                        and value[4] == "-"
                        and value[length - 3] in "-:"
                    ):
                        values[i] = convert(value)
                for i in json_columns:
                    value = values[i]
                    if value.__class__ is raw:
                        values[i] = raw_json_text(value)
                    elif value is not None and value.__class__ is not str:
                        values[i] = encode(value).decode()
                for i, convert in others:
                    values[i] = convert(values[i])
            except (ValueError, TypeError, OverflowError, AttributeError):
                raise self._explain(msgspec.structs.asdict(item)) from None
            if version_index is None:
                version = None
            elif self._version_text:
                text = values[version_index]
                version = dt.datetime.fromisoformat(text) if text is not None else None
            else:
                version = values[version_index]
            built.append((tuple([values[i] for i in key_index]), version, (*values, *suffix)))
        return built

    def build(self, record: Mapping[str, Any]) -> tuple[tuple[Any, ...], Any, Row]:
        """Return ``(key, version, row)``; ``version`` is comparable (a datetime for ``updated_at``)."""
        get = record.get
        try:
            values = [convert(get(name)) for name, convert in self._fields]
            if self._version_parser is not None:
                version = self._version_parser(get(self._version_name))
            else:
                version = values[self._version_index] if self._version_index is not None else None
        except (ValueError, TypeError, OverflowError, AttributeError):
            raise self._explain(record) from None
        key = tuple(values[i] for i in self._key_index)
        return key, version, (*values, *self._suffix)

    def _explain(self, record: Mapping[str, Any]) -> SmartArenaResponseError:
        """Name the record and the field that cannot be stored (off the hot path: only on failure)."""
        key = ", ".join(f"{k}={record.get(k)!r}" for k in self._key_names)
        for name, convert in self._fields:
            value = record.get(name)
            try:
                convert(value)
            except (ValueError, TypeError, OverflowError, AttributeError) as exc:
                shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
                return SmartArenaResponseError(
                    f"record ({key}): field {name!r} = {shown} cannot be stored as "
                    f"{self._types[name]} ({exc})"
                )
        return SmartArenaResponseError(f"record ({key}): {self._version_name!r} is not a datetime")


class SqlLoader:
    """Upserts records into one table in batches over one connection.

    Use as a context manager: the connection is opened and the tables created on entry; on an
    exception the open (uncommitted) batch is rolled back, and the connection is closed on exit.

    :param hook: any common-sql hook of the target database.
    :param spec: the target table.
    :param tz: the server time zone (API datetimes are naive on its wall clock).
    :param extracted_at: the run's instant (UTC), stored in ``_extracted_at`` of every row written.
    :param batch_size: the most rows per upsert and per transaction.
    :param dialect: force a dialect (``"staged"``, ``"merge"`` ...) instead of the hook's.
    :param extra_tables: more tables to create on entry (the state table).
    :param lock: the name of the writers' lock taken on entry, before any table is created, and
        held until exit (e.g. the Smart ARENA connection and stream); None takes no lock.
    :param lock_timeout: seconds to wait for another writer holding ``lock``, then fail.
    :param write_behind: when to write a batch on a background thread while the caller goes on:
        a callable asked as a batch grows (e.g. :meth:`ReadGauge.reading_is_slower`), True for
        always, False for never. Such a batch is written as soon as it holds ``batch_size // 5``
        rows and the writer is idle, so the database's work hides behind the API's latency and the
        batch left for the end is small. Not where the dialect's connection cannot be used from
        another thread (SQLite's, which runs in process anyway). Full batches go to the writer
        too while the server is the slower side (its part of the last write took more than twice
        the client's), up to the dialect's ``writers`` at once, each on a connection of its own.
        Otherwise, batches are full and written in the caller's thread: when the client's own CPU
        is what limits, a second thread only adds switching.
    """

    def __init__(
        self,
        hook: DbApiHook,
        spec: TableSpec,
        *,
        tz: dt.tzinfo,
        extracted_at: dt.datetime,
        batch_size: int = DEFAULT_BATCH_SIZE,
        dialect: str | None = None,
        extra_tables: tuple[TableSpec, ...] = (),
        lock: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        write_behind: bool | Callable[[], bool] = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.hook = hook
        self.spec = spec
        self.dialect = get_dialect(hook.dialect_name, hook.placeholder, dialect)
        self.batch_size = batch_size
        self.extracted_at = extracted_at
        self.builder = RowBuilder(spec, self.dialect, tz, extracted_at)
        self._extra_tables = extra_tables
        self.lock = lock
        self.lock_timeout = lock_timeout
        self._release: Callable[[], None] | None = None
        self._pending: dict[tuple[Any, ...], tuple[Any, Row]] = {}
        self._connection: Any = None
        self._write_behind: Callable[[], bool] | None = None
        if write_behind and self.dialect.write_behind:
            self._write_behind = write_behind if callable(write_behind) else _always
        self._early_batch = max(1, batch_size // 5)
        #: The pending count at which to ask again whether the writer is idle (see :meth:`put`),
        #: and the rows queued between two looks at a busy one: a tenth of an early batch (a page
        #: of the API's usual size at the default batch), so an idle writer is noticed that late.
        self._next_look = self._early_batch
        self._look_every = max(1, self._early_batch // 10)
        self._writer: ThreadPoolExecutor | None = None
        self._writers = max(1, self.dialect.writers)
        #: The batches being written in the background, oldest first.
        self._in_flight: list[_InFlight] = []
        #: The connection a writer thread writes its batch on (see :meth:`_open`).
        self._local = threading.local()
        #: Connections opened for writers beyond the first, which writes on the loader's own.
        self._writer_connections: list[Any] = []
        #: Whether the last batch's write waited on the server longer than it ran here.
        self._server_bound = False
        self.rows_written = 0
        self.batches = 0
        self.skipped_without_key = 0
        self.schema_changes: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def connection(self) -> Any:
        """The loader's connection, once the batch in flight (if any) is committed."""
        self._settle()
        return self._open()

    def _open(self) -> Any:
        """The connection of this thread: a writer's own, else the loader's."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._connection is None:
            raise RuntimeError("SqlLoader is not open; use it as a context manager")
        return self._connection

    def _connect(self) -> Any:
        connection = self.dialect.connect(self.hook)
        try:
            if getattr(self.hook, "supports_autocommit", False):
                self.hook.set_autocommit(connection, False)
            self.dialect.prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def __enter__(self) -> SqlLoader:
        self._connection = self._connect()
        try:
            if self.lock is not None:
                self._take_lock(self.lock)
            for spec in (*self.dialect.tables(self.spec), *self._extra_tables):
                self.schema_changes += ensure_table(self._connection, self.dialect, spec)
        except BaseException:
            self.__exit__(BaseException)
            raise
        return self

    def _take_lock(self, name: str) -> None:
        started = time.monotonic()
        release = self.dialect.lock(self.connection, name, self.lock_timeout)
        if release is None:
            raise SmartArenaLockError(
                f"another writer of {name} into {self.spec.name} held it for lock_timeout="
                f"{self.lock_timeout:g} s, so this run wrote nothing. Two tasks write the same stream "
                "at once (e.g. an hourly incremental and a nightly reconcile): retry later, raise "
                "lock_timeout, or keep them from overlapping"
            )
        self._release = release
        waited = time.monotonic() - started
        if waited > 1:
            log.info("waited %.1f s for another writer of %s", waited, name)

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            self._settle()
        except Exception as exc:
            if exc_type is None:  # a batch that failed in the background fails the run
                exc_type = type(exc)
                self._close(exc_type)
                raise
            log.debug("a background batch failed too: %s", exc)  # the first error is the one raised
        self._close(exc_type)

    def _close(self, exc_type: object) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        writers, self._writer_connections = self._writer_connections, []
        for writer in writers:  # each committed its batches; a failed one's transaction is dropped
            try:
                writer.close()
            except Exception as exc:
                log.debug("closing a writer's connection: %s", exc)
        connection, self._connection = self._connection, None
        release, self._release = self._release, None
        if connection is None:
            return
        try:
            if exc_type is not None:
                connection.rollback()
            if release is not None:
                try:
                    release()
                except Exception as exc:  # closing the connection below drops the lock anyway
                    log.debug("releasing the writers' lock: %s", exc)
        finally:
            connection.close()

    # ------------------------------------------------------------------ rows

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._pending)

    def add(self, record: Mapping[str, Any]) -> bool:
        """Queue an API record (see :meth:`put`)."""
        return self.put(*self.builder.build(record))

    def put(self, key: tuple[Any, ...], version: Any, row: Row) -> bool:
        """Queue a built row; write the batch when full. Return True if ``key`` was already queued.

        Within a batch a key is kept once, with the newer version (the upsert could not write the
        same key twice in one statement on every database). Rows without a complete key cannot be
        stored and are counted in ``skipped_without_key``.
        """
        if None in key:
            self.skipped_without_key += 1
            return False
        held = self._pending.get(key)
        if held is not None:
            if not _older(version, held[0]):
                self._pending[key] = (version, row)
            return True
        self._pending[key] = (version, row)
        pending = len(self._pending)
        if pending >= self.batch_size:
            if self._write_behind is not None and self._server_bound:
                self._flush_behind(self._writers)
            else:
                self.flush()
        elif self._write_behind is not None and pending >= self._next_look:
            if self._writer_idle() and self._write_behind():
                self._flush_behind(1)  # the server keeps up: one writer, on the loader's connection
            else:
                # Asked again a page later, not at the next row: a busy writer was asked 160,000
                # times in a run of 200,000 usercourses into MariaDB (a lock taken each time).
                self._next_look = pending + self._look_every
        return False

    @property
    def read_ahead(self) -> int:
        """Records worth fetching ahead of the caller (see ``read_pass``): a batch where the caller
        writes every batch itself, the requests going on meanwhile; two early batches where a
        writer thread may take them, as the caller then only waits for a busy writer. More would
        only hold more records: with two MySQL writers busy, a batch's worth of pages read ahead
        took 11 MB of a run's peak memory (200,000 usercourses at 0 ms: 215 against 204 MB)."""
        return self.batch_size if self._write_behind is None else 2 * self._early_batch

    def _writer_idle(self) -> bool:
        return all(entry.future.done() for entry in self._in_flight)

    def flush(self, then: Callable[[Any], None] | None = None) -> None:
        """Upsert the pending rows and run ``then(cursor)`` in one transaction, then commit.

        Always in the caller's thread, once the batch in flight (see ``write_behind``) is
        committed; a failure of that batch is raised here, before these rows are touched.
        """
        rows = self._take_pending()
        # Counted before ``then`` runs, so that what it records (the state's rows_written)
        # includes the batch committed with it; taken back if the transaction fails.
        self.rows_written += len(rows)
        try:
            self._commit(rows, then)
        except BaseException:
            self.rows_written -= len(rows)
            raise
        if rows:
            self._committed(len(rows))

    def _flush_behind(self, writers: int) -> None:
        """Hand the pending rows to a writer thread (see ``write_behind``) once fewer than
        ``writers`` batches are in flight and none of them shares a key with these."""
        keys = set(self._pending)
        self._open_writers(writers)
        while True:
            self._settle_done()  # first: if one failed, the pending rows stay pending
            sharing = [entry.future for entry in self._in_flight if not keys.isdisjoint(entry.keys)]
            if not sharing and len(self._in_flight) < min(writers, self._writers):
                break
            wait(sharing or [entry.future for entry in self._in_flight], return_when=FIRST_COMPLETED)
        busy = [entry.connection for entry in self._in_flight]
        connection = next(
            c for c in (self._open(), *self._writer_connections) if all(c is not b for b in busy)
        )
        rows = self._take_rows()
        self.rows_written += len(rows)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(self._writers, thread_name_prefix="smartarena-writer")
        future = self._writer.submit(self._commit_on, connection, rows)
        self._in_flight.append(_InFlight(future, len(rows), keys, connection))

    def _open_writers(self, writers: int) -> None:
        """Open the connections of ``writers`` writers: the first writes on the loader's own
        connection (this thread leaves it alone while a batch is in flight), each other on one
        of its own, opened here (fewer writers where the server refuses more connections)."""
        while 1 + len(self._writer_connections) < min(writers, self._writers):
            try:
                self._writer_connections.append(self._connect())
            except Exception as exc:  # e.g. max_user_connections: fewer writers, the same rows
                self._writers = 1 + len(self._writer_connections)
                log.warning(
                    "%s: %d writer(s) instead of %d: another connection was refused (%s)",
                    self.spec.name,
                    self._writers,
                    self.dialect.writers,
                    _first_line(exc),
                )

    def _commit_on(self, connection: Any, rows: list[Row]) -> None:
        self._local.connection = connection
        try:
            self._commit(rows, None)
        finally:
            self._local.connection = None

    def _take_pending(self) -> list[Row]:
        self._settle()  # first: if a batch in flight failed, the pending rows stay pending
        return self._take_rows()

    def _take_rows(self) -> list[Row]:
        rows = UniqueRows(map(itemgetter(1), self._pending.values()))
        self._pending.clear()
        self._next_look = self._early_batch
        return rows

    def _settle(self) -> None:
        """Wait for every batch in flight; raise the first failure (its rows were not written)."""
        failure: BaseException | None = None
        while self._in_flight:
            try:
                self._settle_oldest()
            except BaseException as exc:
                if failure is None:
                    failure = exc
                else:
                    log.debug("another background batch failed too: %s", exc)
        if failure is not None:
            raise failure

    def _settle_done(self) -> None:
        """Settle the batches in flight that are committed or failed, whichever their order."""
        for entry in [entry for entry in self._in_flight if entry.future.done()]:
            self._in_flight.remove(entry)
            self._settle_batch(entry)

    def _settle_oldest(self) -> None:
        self._settle_batch(self._in_flight.pop(0))

    def _settle_batch(self, entry: _InFlight) -> None:
        future, count = entry.future, entry.rows
        try:
            future.result()
        except BaseException:
            self.rows_written -= count
            raise
        self._committed(count)

    def _committed(self, count: int) -> None:
        self.batches += 1
        log.debug("committed %d rows into %s (%d so far)", count, self.spec.name, self.rows_written)

    def _commit(self, rows: list[Row], then: Callable[[Any], None] | None) -> None:
        """Write ``rows`` and run ``then`` in one transaction; on a refused batch, strip what the
        database cannot store and try once more, or name the row it refuses."""
        wall, cpu = time.perf_counter(), time.thread_time()
        self._commit_once(rows, then)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        self._server_bound = wall > 2 * cpu

    def _commit_once(self, rows: list[Row], then: Callable[[Any], None] | None) -> None:
        try:
            self._write_retrying(rows, then)
        except Exception as exc:
            if not rows or not _is_data_error(exc):
                raise
            self._open().rollback()
            cleaned = self.dialect.clean(rows)
            if cleaned is None:
                raise self._explain_failure(rows, exc) from exc
            # What the database cannot store (NUL in PostgreSQL text) was stripped: try again.
            log.warning("%s: NUL characters removed from text values of this batch", self.spec.name)
            try:
                self._write(cleaned, then)
            except Exception as again:
                if not _is_data_error(again):
                    raise
                self._open().rollback()
                raise self._explain_failure(cleaned, again) from again

    def _write_retrying(self, rows: list[Row], then: Callable[[Any], None] | None) -> None:
        """:meth:`_write`, again after a deadlock the database rolled the batch back for."""
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                self._write(rows, then)
                return
            except Exception as exc:
                if attempt == DEADLOCK_RETRIES or not self.dialect.is_deadlock(exc):
                    raise
                self._open().rollback()
                log.info("%s: a batch was a deadlock's victim; writing it again", self.spec.name)

    def _write(self, rows: list[Row], then: Callable[[Any], None] | None) -> None:
        connection = self._open()  # on the writer thread too: never wait for itself
        with closing(connection.cursor()) as cur:
            if rows:
                self.dialect.upsert(cur, self.spec, rows)
            if then is not None:
                then(cur)
        connection.commit()

    def _explain_failure(self, rows: list[Row], exc: BaseException) -> SmartArenaLoadError:
        """Find the row of a refused batch that the database cannot store; name its key and field.

        The batch is halved until one row is left, each try rolled back (off the hot path: only
        once a batch has failed; some 13 tries for 5000 rows, where row by row took 44 s on MariaDB).
        """
        failing: tuple[Row, BaseException] | None = None
        suspects = rows
        while suspects:
            half = len(suspects) // 2 or 1
            for part in (suspects[:half], suspects[half:]):
                refused = self._try_rows(part) if part else None
                if refused is not None:
                    if len(part) == 1:
                        failing = (part[0], refused)
                        suspects = []
                    else:
                        suspects = part
                    break
            else:  # each half alone is fine: only the whole batch together was refused
                break
        if failing is None:
            return SmartArenaLoadError(
                f"{self.spec.name}: the database refused a batch of {len(rows)} rows, though no single "
                f"row of it was refused alone: {_first_line(exc)}"
            )
        row, row_exc = failing
        names = self.spec.column_names
        key = ", ".join(f"{k}={_shown(row[names.index(k)])}" for k in self.spec.key)
        said = _first_line(row_exc)
        field = next((n for n in names if re.search(rf"\b{re.escape(n)}\b", said)), None)
        where = f"field {field!r}" if field else "a field"
        hint = ""
        if field in self.spec.key:
            hint = f" Keys are stored as they are sent; {self.dialect.key_limit(self.spec)}"
        elif field is not None:
            hint = f" {self.dialect.widen_hint(self.spec, field)}"
        return SmartArenaLoadError(
            f"{self.spec.name}: record ({key}) cannot be written, {where} was refused: {said}.{hint}"
        )

    def _try_rows(self, rows: list[Row]) -> Exception | None:
        """Write ``rows`` and roll back; the database's refusal, or None if it took them."""
        try:
            with closing(self._open().cursor()) as cur:
                self.dialect.upsert(cur, self.spec, rows)
        except Exception as refused:
            return refused
        finally:
            self._open().rollback()
        return None

    def mark_deleted(self, cursor: Any) -> int:
        """Set ``_deleted_at`` on rows this run did not write (use only after a complete read)."""
        p = self.dialect.placeholder
        stamp = self.builder.stamp
        cursor.execute(
            f"UPDATE {self.spec.name} SET {DELETED_AT} = {p} "
            f"WHERE {DELETED_AT} IS NULL AND ({EXTRACTED_AT} IS NULL OR {EXTRACTED_AT} < {p})",
            (stamp, stamp),
        )
        return max(cursor.rowcount or 0, 0)


def _always() -> bool:
    return True


class _InFlight(NamedTuple):
    """A batch being written in the background."""

    future: Future[None]
    rows: int
    keys: set[tuple[Any, ...]]
    #: The connection it is written on (the loader's own or a writer's).
    connection: Any


class SmartArenaLockError(SmartArenaError):
    """Another writer of the same stream kept its lock longer than ``lock_timeout``."""


class SmartArenaLoadError(SmartArenaError):
    """A record the API sent cannot be written to the target table; the message names its key."""


def _is_data_error(exc: BaseException) -> bool:
    """True for a DB-API error about the values written (DataError, IntegrityError ...), which one
    row can cause, rather than about the connection or the statement. psycopg2 refuses a NUL in
    text on the client, before the server sees it, with a plain ValueError."""
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):
        return True
    return any(c.__name__ in ("DataError", "IntegrityError") for c in type(exc).__mro__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
