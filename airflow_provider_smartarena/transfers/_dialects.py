"""Everything that differs between SQL databases: column types, DDL and the upsert.

One class per way of upserting, chosen by the DbApiHook's ``dialect_name``:

* :class:`SqliteDialect`, :class:`PostgresDialect` — ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``;
* :class:`MySqlDialect` — ``INSERT ... ON DUPLICATE KEY UPDATE col = IF(newer, VALUES(col), col)``,
  from a stage filled by ``LOAD DATA LOCAL INFILE`` where allowed;
* :class:`StagedDialect` — any other database: rows go to a staging table, then
  ``DELETE`` the older target rows and ``INSERT`` the missing ones (plain SQL-92, e.g. Redshift);
* :class:`MergeDialect` — the same staging table, then one ``MERGE`` (Snowflake, BigQuery, SQL Server).

Keys compare exactly, byte for byte as the API sends them (no case folding, no accent folding,
no trailing-space padding, no Unicode normalisation): tables created on MySQL-family servers use a
binary NO PAD collation, and :meth:`Dialect.check_table` refuses an existing table whose key
columns would merge distinct keys.

Every upsert keeps the newest row when the table has a version column (``updated_at``): an older
record never overwrites a newer one. None of them commits: the loader decides the transaction.
Identifiers are checked by :func:`~._schema.check_identifier` and the column names are the API's
lower-case field names, none a reserved word, so nothing is quoted (quoting would make names
case-sensitive on Snowflake and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from typing import IO, Any, ClassVar

from airflow_provider_smartarena.exceptions import SmartArenaError
from airflow_provider_smartarena.transfers._bulk import chunks, mysql_values, newest_per_key
from airflow_provider_smartarena.transfers._bulk_text import NaiveDatetime, row_type, write_load_data
from airflow_provider_smartarena.transfers._schema import Column, SqlType, TableSpec

Row = tuple[Any, ...]
log = logging.getLogger(__name__)

_COMMON_TYPES: dict[str, str] = {
    "key": "VARCHAR(255)",
    "text": "VARCHAR(4000)",
    "int": "BIGINT",
    "float": "DOUBLE PRECISION",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "json": "VARCHAR(65535)",
    "timestamp": "TIMESTAMP",
}


#: Releases a writers' lock (see :meth:`Dialect.lock`).
Release = Callable[[], None]


def _no_release() -> None:
    return None


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


class SmartArenaTableError(SmartArenaError):
    """An existing target table cannot hold the data exactly (e.g. keys that compare case-insensitively)."""


def _refuse(spec: TableSpec, column: str, problem: str, fix: str) -> SmartArenaTableError:
    return SmartArenaTableError(
        f"table {spec.name}, key column {column}: {problem}, so distinct keys sent by the API (e.g. "
        f"'rt-ana' and 'RT-ANA', 'rt-josé' and 'rt-jose', 'x' and 'x ') would be merged into one row. "
        f"Keys must compare exactly. Fix the table first: {fix}; then run once with "
        'mode="full_refresh" to restore any rows already merged. Nothing was written'
    )


def _iso_datetime(value: Any) -> Any:
    return value.isoformat(" ") if isinstance(value, dt.datetime) else value


class Dialect:
    """How one kind of database creates the tables and upserts rows (abstract)."""

    name: ClassVar[str] = "generic"
    #: SQL column type per column type (plus ``key`` for text key columns).
    types: dict[str, str] = _COMMON_TYPES
    #: Converters applied to Python values before they are bound, by column type.
    adapters: dict[str, Callable[[Any], Any]] = {}
    #: Dates and datetimes are stored as ISO text (the database has no date types).
    dates_as_text: bool = False
    #: The connection may be used from another thread (one at a time): see SqlLoader's write_behind.
    write_behind: bool = False
    #: Batches written at once while the server is the slower side, the first on the run's
    #: connection and each other on one of its own (see SqlLoader's write_behind).
    writers: int = 1

    def __init__(self, placeholder: str = "%s") -> None:
        self.placeholder = placeholder

    # ------------------------------------------------------------------ DDL

    def column_type(self, column: Column, *, key: bool) -> str:
        if key and column.type == "text":
            return self.types["key"]
        return self.types[column.type]

    def column_sql(self, spec: TableSpec, column: Column) -> str:
        is_key = column.name in spec.key
        return f"{column.name} {self.column_type(column, key=is_key)}" + (" NOT NULL" if is_key else "")

    def create_table_sql(self, spec: TableSpec) -> list[str]:
        columns = ", ".join(self.column_sql(spec, c) for c in spec.columns)
        return [f"CREATE TABLE {spec.name} ({columns}, PRIMARY KEY ({', '.join(spec.key)}))"]

    def add_column_sql(self, spec: TableSpec, column: Column) -> str:
        return f"ALTER TABLE {spec.name} ADD {self.column_sql(spec, column)}"

    def tables(self, spec: TableSpec) -> list[TableSpec]:
        """The tables an upsert into ``spec`` needs (the target, plus any staging table)."""
        return [spec]

    def connect(self, hook: Any) -> Any:
        """Open the loader's connection through the DbApiHook ``hook``."""
        return hook.get_conn()

    def prepare(self, connection: Any) -> None:
        """Learn what this server needs before any DDL (e.g. which collation it has). Not committed."""

    def table_options(self) -> str:
        """What follows ``CREATE TABLE name (...)`` so that text compares exactly (after :meth:`prepare`).

        Every table the provider creates uses it (the transfers' and the sync results table).
        """
        return ""

    def check_table(self, connection: Any, spec: TableSpec) -> None:
        """Raise :class:`SmartArenaTableError` if an existing table would merge distinct keys."""

    def lock(self, connection: Any, name: str, timeout: float) -> Release | None:
        """Take the writers' lock ``name`` for as long as ``connection`` is open, waiting at most
        ``timeout`` seconds; return what releases it, or None if another writer kept it.

        Databases without a lock the provider knows return a no-op: their writers are not serialised.
        """
        return _no_release

    def clean(self, rows: Sequence[Row]) -> list[Row] | None:
        """``rows`` with what the database cannot store removed, or None if nothing needs removing."""
        return None

    def key_limit(self, spec: TableSpec) -> str:
        """What a key longer than the table holds means here, for an error message."""
        return "the key column is too short for it."

    def widen_hint(self, spec: TableSpec, column: str) -> str:
        """How to make ``column`` of an existing table hold more, for an error message."""
        return f"If {spec.name} was created with a narrower type, widen {column} (see docs/extraction.md)."

    # ------------------------------------------------------------------ DML

    def _placeholders(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    def insert_sql(self, spec: TableSpec) -> str:
        cols = ", ".join(spec.column_names)
        return f"INSERT INTO {spec.name} ({cols}) VALUES ({self._placeholders(len(spec.columns))})"

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        """Insert ``rows``, or update the row with the same key unless it is newer. Not committed."""
        raise NotImplementedError

    def replace_row(self, cursor: Any, spec: TableSpec, row: Row, *, where: str, key: Row) -> None:
        """Write ``row`` in place of the one with its key (``where``/``key`` select it). Not committed.

        Delete + insert on databases without a native upsert; the others upsert, so that two
        writers of the same key never fail on the primary key.
        """
        cursor.execute(f"DELETE FROM {spec.name} WHERE {where}", key)
        cursor.execute(self.insert_sql(spec), row)

    def adapt(self, sql_type: SqlType) -> Callable[[Any], Any] | None:
        return self.adapters.get(sql_type)

    def is_deadlock(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the database rolled the transaction back to end a deadlock."""
        return False


class _OnConflictDialect(Dialect):
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE excluded.version >= t.version``."""

    def upsert_sql(self, spec: TableSpec, values: str | None = None, *, source: str | None = None) -> str:
        """The upsert of one row, of ``VALUES values``, or of the rows of the query ``source``."""
        cols = ", ".join(spec.column_names)
        values = values or f"({self._placeholders(len(spec.columns))})"
        updates = ", ".join(f"{c} = excluded.{c}" for c in spec.column_names if c not in spec.key)
        # The alias lets the condition name the target row even when the table is schema-qualified.
        sql = (
            f"INSERT INTO {spec.name} AS t ({cols}) {source or 'VALUES ' + values} "
            f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {updates}"
        )
        if spec.version:
            v = spec.version
            sql += f" WHERE t.{v} IS NULL OR excluded.{v} >= t.{v}"
        return sql

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        cursor.executemany(self.upsert_sql(spec), rows)

    def replace_row(self, cursor: Any, spec: TableSpec, row: Row, *, where: str, key: Row) -> None:
        cursor.execute(self.upsert_sql(spec), row)


def _null(value: None) -> None:
    return None


def _bind_nulls_fast() -> None:
    """Give ``None`` an identity adapter in Python's sqlite3 module.

    Without one, sqlite3 binds every ``None`` through its adapter protocol, two failed attribute
    lookups each: with a dozen empty fields a row, that costs as much as the insert itself (14 vs
    6 µs a row measured). The adapter returns ``None``, so what is stored does not change.
    """
    import sqlite3

    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)


class SqliteDialect(_OnConflictDialect):
    """SQLite 3.24+ (``ON CONFLICT DO UPDATE``); dates and datetimes stored as sortable ISO text."""

    def __init__(self, placeholder: str = "%s") -> None:
        super().__init__(placeholder)
        _bind_nulls_fast()

    name = "sqlite"
    types = {
        "key": "TEXT",
        "text": "TEXT",
        "int": "INTEGER",
        "float": "REAL",
        "date": "TEXT",
        "datetime": "TEXT",
        "json": "TEXT",
        "timestamp": "TEXT",
    }
    # sqlite3's own datetime adapters are deprecated (Python 3.12); ISO text sorts and compares right.
    dates_as_text = True
    adapters = {"timestamp": _iso_datetime}

    def lock(self, connection: Any, name: str, timeout: float) -> Release | None:
        import fcntl
        import time

        # Other writers of the file (other streams) wait this long for a batch's write lock.
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        path = next((row[2] for row in connection.execute("PRAGMA database_list") if row[1] == "main"), "")
        if not path:  # an in-memory database has one connection: nobody to wait for
            return _no_release
        # SQLite has no lock outliving a transaction, and batches commit one by one: a file lock
        # beside the database serialises whole runs (the OS drops it if the process dies).
        try:
            handle = open(f"{path}.smartarena-{_digest(name).hex()[:16]}.lock", "a+b")  # noqa: SIM115
        except OSError as exc:  # e.g. a read-only directory: run unserialised rather than not at all
            log.warning("no writers' lock for %s (%s): concurrent runs are not serialised", name, exc)
            return _no_release
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return None
                time.sleep(0.05)

        def release() -> None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

        return release

    def check_table(self, connection: Any, spec: TableSpec) -> None:
        # The primary key's index lists the collation each key column compares with.
        schema, _, table = spec.name.rpartition(".")
        prefix = f"{schema}." if schema else ""
        with closing(connection.cursor()) as cur:
            cur.execute(f"PRAGMA {prefix}index_list({table})")
            indexes = [row[1] for row in cur.fetchall() if row[3] == "pk"]
            for index in indexes:
                cur.execute(f"PRAGMA {prefix}index_xinfo('{index}')")
                for row in cur.fetchall():
                    name, collation, is_key = row[2], row[4], row[5]
                    if is_key and name in spec.key and str(collation).upper() != "BINARY":
                        raise _refuse(
                            spec,
                            name,
                            f"its primary key compares with COLLATE {collation}",
                            "SQLite cannot change a column's collation: rename the table and let the "
                            "next run create it anew (with the default BINARY collation)",
                        )


class PostgresDialect(_OnConflictDialect):
    """PostgreSQL 9.5+ with psycopg (v3, pipelined ``executemany``) or psycopg2 (``execute_values``).

    ``text`` cannot hold NUL (U+0000): :meth:`clean` strips it, only when a batch was refused.
    """

    name = "postgresql"
    types = {**_COMMON_TYPES, "key": "TEXT", "text": "TEXT", "json": "TEXT"}
    # The API's text goes to COPY as it came (the server parses it as it would a literal): parsing
    # every date into a datetime for the driver to format it back cost a third of a row's CPU.
    dates_as_text = True
    write_behind = True

    def clean(self, rows: Sequence[Row]) -> list[Row] | None:
        def strip(value: Any) -> Any:
            return value.replace("\x00", "") if value.__class__ is str and "\x00" in value else value

        cleaned = [tuple(strip(v) for v in row) for row in rows]
        return cleaned if cleaned != list(rows) else None

    def lock(self, connection: Any, name: str, timeout: float) -> Release | None:
        # A session-level advisory lock: held across the run's commits, dropped if the session dies.
        key = int.from_bytes(_digest(name)[:8], "big", signed=True)
        with closing(connection.cursor()) as cur:
            try:
                cur.execute(f"SET LOCAL lock_timeout = {max(1, int(timeout * 1000))}")
                cur.execute("SELECT pg_advisory_lock(%s)", (key,))
                cur.fetchall()
            except Exception as exc:
                connection.rollback()
                if type(exc).__name__ == "LockNotAvailable" or "lock timeout" in str(exc):
                    return None
                raise
        connection.commit()

        def release() -> None:
            with closing(connection.cursor()) as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
                cur.fetchall()
            connection.commit()

        return release

    def check_table(self, connection: Any, spec: TableSpec) -> None:
        # A nondeterministic (e.g. case-insensitive ICU) collation or a padded CHAR(n) merges keys.
        query = (
            "SELECT a.attname, t.typname, c.collname, c.collisdeterministic FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation c ON c.oid = a.attcollation "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        )
        with closing(connection.cursor()) as cur:
            try:
                cur.execute(query, (spec.name,))
                rows = cur.fetchall()
            except Exception:  # PostgreSQL before 12 has no nondeterministic collations to fear
                connection.rollback()
                return
        for name, type_name, collation, deterministic in rows:
            if name not in spec.key:
                continue
            fix = f'ALTER TABLE {spec.name} ALTER COLUMN {name} TYPE text COLLATE "default"'
            if type_name == "bpchar":
                raise _refuse(spec, name, "it is CHAR(n), which pads and ignores trailing spaces", fix)
            if deterministic is False:
                raise _refuse(spec, name, f"its collation {collation} is nondeterministic", fix)

    @staticmethod
    def staging_name(spec: TableSpec) -> str:
        # A temporary table lives in the session's own schema, so it is named after the target's
        # full name (two targets in two schemas get two stages), within the 63-byte limit.
        return f"smartarena_stage_{_digest(spec.name).hex()[:16]}"

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        rows = newest_per_key(spec, rows)
        if type(cursor).__module__.startswith("psycopg2"):
            # psycopg2's executemany is one round trip per row; execute_values sends pages of rows.
            from psycopg2.extras import execute_values

            execute_values(cursor, self.upsert_sql(spec, values="%s"), rows, page_size=len(rows) or 1)
        elif hasattr(cursor, "copy") and len(rows) > 1:
            self._copy_upsert(cursor, spec, rows)
        else:
            cursor.executemany(self.upsert_sql(spec), rows)

    def _copy_upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        """psycopg 3: ``COPY`` the rows into a temporary stage, then one ``INSERT ... SELECT ...
        ON CONFLICT`` from it: one round trip a batch, and a fifth of the client's CPU of the
        pipelined ``executemany`` (4 against 21 µs a usercourse row, with dates as text).

        The stage has the types of the target's columns that the spec writes, and none of its
        constraints or defaults (those apply in the ``INSERT``): a value the target's type cannot
        hold is refused by the ``COPY`` as it would be by the ``INSERT``. It is emptied at every
        commit and dropped with the session; a rolled-back batch drops it, hence ``IF NOT EXISTS``.
        """
        name = self.staging_name(spec)
        stage = f"pg_temp.{name}"  # never a user's table of the same name on the search path
        cols = ", ".join(spec.column_names)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS "
            f"AS SELECT {cols} FROM {spec.name} WITH NO DATA"
        )
        # Empty at the start of every transaction; cleared anyway should a caller upsert twice in one.
        cursor.execute(f"DELETE FROM {stage}")
        # psycopg's write_row is C code (4 µs a usercourse row with dates as text, against 7 µs
        # for the same rows through bulk_text, which the MySQL family needs for LOAD DATA).
        with cursor.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        cursor.execute(self.upsert_sql(spec, source=f"SELECT {cols} FROM {stage}"))


#: The row number that clusters the tables the MySQL family creates (see MySqlDialect.create_table_sql).
ROW_ID = "_row_id"
#: Binary collations that do not pad (``'x' <> 'x '``), best first: MariaDB 10.2+, MySQL 8.0.
_NOPAD_BINARY = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin")
#: InnoDB's limit on a whole index, in bytes (DYNAMIC rows); utf8mb4 takes up to 4 bytes a character.
_INDEX_BYTES = 3072
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


#: MySQL-family errors meaning LOAD DATA LOCAL is disabled on the client or the server side.
_LOCAL_INFILE_DISABLED = frozenset({1148, 3948, 3950, 4166})
#: ER_LOCK_DEADLOCK: the transaction was rolled back (InnoDB), and may be run again.
_DEADLOCK = 1213
#: Fewer rows than this are written as literals: a stage's round trips would cost more.
LOAD_DATA_MIN_ROWS = 100
# A path LOAD DATA can name inside quotes as it is.
_PLAIN_PATH_RE = re.compile(r"^[^'\\\x00]+$")


def _errno(exc: BaseException) -> int | None:
    # mysql-connector-python has .errno; mysqlclient and PyMySQL put it first in args.
    errno = getattr(exc, "errno", None)
    if errno is None and exc.args and isinstance(exc.args[0], int):
        errno = exc.args[0]
    return errno if isinstance(errno, int) else None


class MySqlDialect(Dialect):
    """MySQL and MariaDB: ``ON DUPLICATE KEY UPDATE`` with a per-column newest-wins ``IF``.

    Tables are created ``utf8mb4`` with a binary NO PAD collation, so keys compare exactly; free text
    is ``LONGTEXT`` (a 1 MB course title fits); text keys are as long as InnoDB's 3072-byte index
    allows (768 characters for a one-column key, 384 each for two).

    A batch is loaded with ``LOAD DATA LOCAL INFILE`` into a temporary stage, then upserted from it
    in one ``INSERT ... SELECT``, where the server and the connection allow it (see
    :meth:`connect`); else, and for a batch the stage would not take exactly, as multi-row literals.
    """

    name = "mysql"
    types = {
        **_COMMON_TYPES,
        "text": "LONGTEXT",
        "float": "DOUBLE",
        "datetime": "DATETIME",
        "json": "LONGTEXT",
        "timestamp": "DATETIME(6)",
    }
    # The API's dates and datetimes go as the text it sends (the server parses them, strictly):
    # parsing each into a datetime to write it back as text cost a third of the client's work.
    dates_as_text = True
    write_behind = True
    # The server works a connection's statements on one thread: LOAD DATA's parsing and the
    # upsert of one batch were what a run at 0 ms waited for while the other core idled.
    writers = 2
    #: The collation of the tables created; :meth:`prepare` picks the server's NO PAD binary one.
    collation = "utf8mb4_nopad_bin"
    #: Whether batches go through ``LOAD DATA LOCAL INFILE``: None until the first one tells,
    #: False once the server (``local_infile``) or the connection refused it.
    load_data: bool | None = None
    #: The engine of the ``LOAD DATA`` stage (:meth:`prepare` picks the server's), or None for one
    #: like the target's (InnoDB, with its keys) once the server refused it.
    stage_engine: str | None = None

    def __init__(self, placeholder: str = "%s") -> None:
        super().__init__(placeholder)
        #: The row type of JSON rows by the spec's columns (see :meth:`write_load_data`).
        self._rows_types: dict[tuple[Column, ...], Any] = {}

    def connect(self, hook: Any) -> Any:
        """Open the connection with ``LOAD DATA LOCAL`` allowed on the client side when the hook
        uses mysql-connector-python, which sends only a file its own statement names (so a server
        cannot ask it for another file). Other clients keep the hook's ``local_infile`` (opt in with
        ``sql_hook_params={"local_infile": True}``); without it batches are written as literals.
        """
        extra = getattr(hook, "connection_extra", None) or {}
        if (
            getattr(hook, "local_infile", None) is not False
            or extra.get("client") != "mysql-connector-python"
        ):
            return hook.get_conn()
        hook.local_infile = True
        try:
            return hook.get_conn()
        finally:
            hook.local_infile = False

    def is_deadlock(self, exc: BaseException) -> bool:
        return _errno(exc) == _DEADLOCK

    def prepare(self, connection: Any) -> None:
        names = ", ".join(f"'{name}'" for name in _NOPAD_BINARY)
        with closing(connection.cursor()) as cur:
            # Without a strict mode, a value too long is cut to fit with only a warning: two long
            # keys would become one row. Strict, it is an error the loader explains.
            cur.execute(
                "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"
            )
            cur.execute("SELECT @@local_infile, @@version")
            local_infile, version = cur.fetchone()
            if not int(local_infile or 0):
                self.load_data = False
            self.stage_engine = "Aria" if "mariadb" in str(version).lower() else "MyISAM"
            cur.execute(f"SHOW COLLATION WHERE Collation IN ({names})")
            available = {str(row[0]) for row in cur.fetchall()}
        # MySQL 5.7 has no NO PAD binary collation: keys differing only in trailing spaces merge there.
        self.collation = next((c for c in _NOPAD_BINARY if c in available), "utf8mb4_bin")

    @staticmethod
    def key_length(spec: TableSpec) -> int:
        """Characters a text key column holds: the index limit shared among the key's columns."""
        return _INDEX_BYTES // 4 // max(1, len(spec.key))

    def column_sql(self, spec: TableSpec, column: Column) -> str:
        if column.name in spec.key and column.type == "text":
            return f"{column.name} VARCHAR({self.key_length(spec)}) NOT NULL"
        return super().column_sql(spec, column)

    def key_limit(self, spec: TableSpec) -> str:
        n = self.key_length(spec)
        return (
            f"on MySQL-family servers a key column holds {n} characters (InnoDB indexes at most "
            f"{_INDEX_BYTES} bytes), so a longer key cannot be stored."
        )

    def widen_hint(self, spec: TableSpec, column: str) -> str:
        return f"If the table predates LONGTEXT columns: ALTER TABLE {spec.name} MODIFY {column} LONGTEXT."

    def table_options(self) -> str:
        return f" DEFAULT CHARSET=utf8mb4 COLLATE={self.collation}"

    def create_table_sql(self, spec: TableSpec) -> list[str]:
        # InnoDB stores a table in its primary key's order, and keys arrive in no order (pages
        # follow updated_at): with the natural key as primary key every batch rewrites pages all
        # over the table, and once it outgrows the buffer pool each batch reads and writes most of
        # it again (200k usercourses, MariaDB's default 128 MB pool: 15.3 s, against 6.4 s here,
        # and 2.3 GB written). Rows are clustered by a growing row number instead; the key is a
        # UNIQUE index, which ON DUPLICATE KEY UPDATE matches the same way.
        columns = ", ".join(self.column_sql(spec, c) for c in spec.columns)
        key = ", ".join(spec.key)
        return [
            f"CREATE TABLE {spec.name} ({ROW_ID} BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, {columns}, "
            f"PRIMARY KEY ({ROW_ID}), UNIQUE KEY smartarena_key ({key})){self.table_options()}"
        ]

    def lock(self, connection: Any, name: str, timeout: float) -> Release | None:
        # GET_LOCK names are at most 64 characters; the lock lasts until released or disconnected.
        lock_name = f"smartarena:{_digest(name).hex()[:40]}"
        with closing(connection.cursor()) as cur:
            cur.execute("SELECT GET_LOCK(%s, %s)", (lock_name, max(0.0, float(timeout))))
            got = cur.fetchone()
        connection.commit()
        if not got or got[0] != 1:
            return None

        def release() -> None:
            with closing(connection.cursor()) as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (lock_name,))
                cur.fetchall()
            connection.commit()

        return release

    def check_table(self, connection: Any, spec: TableSpec) -> None:
        schema, _, table = spec.name.rpartition(".")
        with closing(connection.cursor()) as cur:
            cur.execute(
                "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
                "AND TABLE_NAME = %s",
                (schema or None, table),
            )
            columns = cur.fetchall()
            for name, charset, collation in columns:
                name = str(name)
                if name not in spec.key or collation is None:
                    continue
                fix = f"ALTER TABLE {spec.name} CONVERT TO CHARACTER SET utf8mb4 COLLATE {self.collation}"
                if str(charset) != "utf8mb4" or not _NAME_RE.match(str(collation)):
                    raise _refuse(spec, name, f"its character set {charset} cannot hold every key", fix)
                # Asked of the server, not guessed from the name: what the collation merges.
                c = str(collation)
                cur.execute(
                    f"SELECT _utf8mb4'rt-ana' COLLATE {c} = _utf8mb4'RT-ANA', "
                    f"_utf8mb4'rt-jos\u00e9' COLLATE {c} = _utf8mb4'rt-jose', "
                    f"_utf8mb4'x' COLLATE {c} = _utf8mb4'x '"
                )
                case, accent, pad = (bool(v) for v in cur.fetchone())
                pad = pad and self.collation != "utf8mb4_bin"  # a server without NO PAD: nothing better
                merged = [what for what, bad in (("case", case), ("accents", accent)) if bad]
                if merged or pad:
                    ignores = " and ".join(merged + (["trailing spaces"] if pad else []))
                    raise _refuse(spec, name, f"its collation {c} ignores {ignores}", fix)

    def upsert_sql(self, spec: TableSpec, values: str | None = None, *, source: str | None = None) -> str:
        """The upsert of one row of placeholders, of the rows of ``values`` (a ``VALUES`` list), or
        of the rows of the query ``source``."""
        # From a query, the target's columns are named with the table: the source has the same names.
        t = f"{spec.name}." if source else ""
        others = [c for c in spec.column_names if c not in spec.key]
        if spec.version:
            v = spec.version
            # MySQL evaluates the assignments left to right and later ones see the new values, so
            # the version column, which the condition reads, is assigned last.
            others = [c for c in others if c != v] + [v]
            newer = f"{t}{v} IS NULL OR VALUES({v}) >= {t}{v}"
            updates = ", ".join(f"{c} = IF({newer}, VALUES({c}), {t}{c})" for c in others)
        else:
            updates = ", ".join(f"{c} = VALUES({c})" for c in others)
        cols = ", ".join(spec.column_names)
        rows = source or f"VALUES {values or f'({self._placeholders(len(spec.columns))})'}"
        # VALUES(col) rather than a row alias: MariaDB has no row alias, MySQL 8 still accepts VALUES().
        return f"INSERT INTO {spec.name} ({cols}) {rows} ON DUPLICATE KEY UPDATE {updates}"

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        # One multi-row statement per packet, its values written as literals (see mysql_values).
        # mysql-connector-python's executemany() also sends one multi-row statement, but binds
        # every value in Python (75 µs a usercourse row, against 25 µs here) and never cuts it, so
        # a batch of large rows exceeded max_allowed_packet and failed.
        # MySQL applies the rows of one statement in order, each against the table as the earlier
        # ones left it: with one row per key, newest-wins holds row by row as before.
        rows = newest_per_key(spec, rows)
        if not rows:
            return
        loadable = self.load_data is not False and len(rows) >= LOAD_DATA_MIN_ROWS
        if loadable and self._load_data_upsert(cursor, spec, rows):
            return
        limit = self.max_statement_bytes(cursor) - len(self.upsert_sql(spec))
        literals = mysql_values(rows)
        if literals is None:  # a value of a type not known here: the driver binds them
            # Its text is about the rows' repr, up to 4 bytes a character and escapes doubled.
            for part in chunks(rows, limit // 8, max_rows=len(rows)):
                cursor.executemany(self.upsert_sql(spec), part)
            return
        # Each tuple, plus the ", " that joins it to the next.
        for values in chunks(literals, limit, max_rows=len(literals), size=lambda text: len(text) + 2):
            cursor.execute(self.upsert_sql(spec, ", ".join(values)))

    @staticmethod
    def staging_name(spec: TableSpec) -> str:
        # In the target's database (the connection may have no default one), named after the
        # target's full name, within the 64-character limit.
        schema, _, _ = spec.name.rpartition(".")
        return f"{schema + '.' if schema else ''}smartarena_stage_{_digest(spec.name).hex()[:16]}"

    def write_load_data(self, file: IO[bytes], spec: TableSpec, rows: Sequence[Row]) -> str | None:
        """Write ``rows`` to ``file`` as a ``LOAD DATA`` file and return the clause that reads it
        (JSON rows where they can be written exactly, else tab-separated text; see ``_bulk_text``),
        or None."""
        if spec.columns not in self._rows_types:
            self._rows_types[spec.columns] = self._rows_type(spec)
        return write_load_data(file, rows, self._rows_types[spec.columns])

    def _rows_type(self, spec: TableSpec) -> Any:
        """The row type :func:`json_rows` checks a batch of ``spec`` against, or None if a column
        is of a type it does not write."""
        dates = (str, str) if self.dates_as_text else (dt.date, NaiveDatetime)
        python: dict[str, Any] = {"key": str, "text": str, "json": str, "int": int, "float": float}
        python |= {"date": dates[0], "datetime": dates[1], "timestamp": NaiveDatetime}
        kinds = [python.get(column.type) for column in spec.columns]
        return None if None in kinds else row_type(kinds)

    def _load_data_upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> bool:
        """Load ``rows`` (see :meth:`write_load_data`) into a temporary stage and upsert the target
        from it; False, with nothing written to the target, if the batch is for the literals.

        Under ``LOCAL`` the server turns what strict mode refuses (a key too long, a bad date) into
        warnings and loads what it could: a stage with any warning is not used, and the literals
        then write the batch or fail with the server's reason, which the loader explains.
        """
        stage = self.staging_name(spec)
        cols = ", ".join(spec.column_names)
        with tempfile.NamedTemporaryFile(prefix="smartarena-load-", suffix=".txt") as file:
            if not _PLAIN_PATH_RE.match(file.name):
                self.load_data = False
                return False
            fields = self.write_load_data(file, spec, rows)
            if fields is None:
                return False
            file.flush()
            # A new stage a batch: emptying one (DELETE) costs as much, TRUNCATE would commit.
            cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {stage}")
            self._create_stage(cursor, spec, stage)
            try:
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE '{file.name}' INTO TABLE {stage} CHARACTER SET utf8mb4 "
                    f"{fields} ({cols})"
                )
            except Exception as exc:
                if _errno(exc) not in _LOCAL_INFILE_DISABLED:
                    raise
                log.info("LOAD DATA LOCAL is disabled for this connection (%s): batches go as literals", exc)
                self.load_data = False
                return False
        cursor.execute("SELECT @@warning_count")
        if int(cursor.fetchone()[0]):
            return False
        cursor.execute(self.upsert_sql(spec, source=f"SELECT {cols} FROM {stage}"))
        self.load_data = True
        return True

    def _create_stage(self, cursor: Any, spec: TableSpec, stage: str) -> None:
        """A temporary table with the types of the target's columns the spec writes.

        Of a non-transactional engine and without keys where the server has one (Aria on MariaDB,
        MyISAM on MySQL): ``LOAD DATA`` into it logs nothing and maintains no index, a fifth less
        of the server's work a batch (0.79 against 0.97 s for 50k usercourses, stage and upsert).
        Its rows are read once by the upsert and dropped with the next batch, so nothing is lost
        by a rollback. A server that refuses the engine gets a stage like the target.
        """
        if self.stage_engine is not None:
            cols = ", ".join(spec.column_names)
            try:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {stage} ENGINE={self.stage_engine} "
                    f"AS SELECT {cols} FROM {spec.name} WHERE 1 = 0"
                )
                return
            except Exception as exc:  # e.g. disabled_storage_engines: the InnoDB stage does the same
                log.info("a %s stage was refused (%s): stages are like the target", self.stage_engine, exc)
                self.stage_engine = None
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} LIKE {spec.name}")

    #: The server's ``max_allowed_packet`` (read once a connection, see :meth:`max_statement_bytes`).
    packet_bytes: int | None = None

    def max_statement_bytes(self, cursor: Any) -> int:
        """The longest statement the server takes: ``max_allowed_packet`` less a margin for the
        protocol's framing (5000 usercourse rows are about 3 MB of literals; MariaDB's default
        packet is 16 MB, MySQL 8's 64 MB)."""
        if self.packet_bytes is None:
            try:
                cursor.execute("SELECT @@max_allowed_packet")
                self.packet_bytes = int(cursor.fetchone()[0])
            except Exception:  # the protocol's least (1 MB), not a reason to fail the write
                self.packet_bytes = 1 << 20
        return max(1 << 16, self.packet_bytes - 1024)

    def replace_row(self, cursor: Any, spec: TableSpec, row: Row, *, where: str, key: Row) -> None:
        cursor.execute(self.upsert_sql(spec), row)


class StagedDialect(Dialect):
    """Any SQL database: stage the batch, delete the target rows it supersedes, insert the rest.

    Needs nothing beyond SQL-92 (correlated ``EXISTS``), so it is the fallback for unknown
    databases, and the usual pattern on Redshift. All statements run in the loader's transaction.
    """

    name = "staged"

    @staticmethod
    def staging(spec: TableSpec) -> TableSpec:
        return TableSpec(f"{spec.name}__staging", spec.columns, spec.key, spec.version)

    def tables(self, spec: TableSpec) -> list[TableSpec]:
        return [spec, self.staging(spec)]

    @staticmethod
    def _match(spec: TableSpec, target: str, source: str) -> str:
        return " AND ".join(f"{source}.{k} = {target}.{k}" for k in spec.key)

    def _newer(self, spec: TableSpec, target: str, source: str) -> str:
        v = spec.version
        return f" AND ({target}.{v} IS NULL OR {source}.{v} >= {target}.{v})" if v else ""

    def _stage(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> TableSpec:
        stage = self.staging(spec)
        cursor.execute(f"DELETE FROM {stage.name}")
        cursor.executemany(self.insert_sql(stage), rows)
        return stage

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        stage = self._stage(cursor, spec, rows)
        # Correlated references use the table's own unqualified name, which every database exposes.
        target = spec.name.rsplit(".", 1)[-1]
        cols = ", ".join(spec.column_names)
        cursor.execute(
            f"DELETE FROM {spec.name} WHERE EXISTS (SELECT 1 FROM {stage.name} s "
            f"WHERE {self._match(spec, target, 's')}{self._newer(spec, target, 's')})"
        )
        cursor.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage.name} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} WHERE {self._match(spec, target, 's')})"
        )


class MergeDialect(StagedDialect):
    """Stage the batch, then one ``MERGE ... WHEN MATCHED AND newer`` (Snowflake, BigQuery, SQL Server)."""

    name = "merge"
    merge_terminator = ""

    def upsert(self, cursor: Any, spec: TableSpec, rows: Sequence[Row]) -> None:
        stage = self._stage(cursor, spec, rows)
        others = [c for c in spec.column_names if c not in spec.key]
        cursor.execute(
            f"MERGE INTO {spec.name} t USING {stage.name} s ON ({self._match(spec, 't', 's')}) "
            f"WHEN MATCHED{self._newer(spec, 't', 's')} THEN UPDATE SET "
            + ", ".join(f"{c} = s.{c}" for c in others)
            + f" WHEN NOT MATCHED THEN INSERT ({', '.join(spec.column_names)}) "
            f"VALUES ({', '.join('s.' + c for c in spec.column_names)}){self.merge_terminator}"
        )


class SnowflakeDialect(MergeDialect):
    name = "snowflake"
    types = {**_COMMON_TYPES, "text": "VARCHAR", "json": "VARCHAR", "timestamp": "TIMESTAMP_NTZ"}


class BigQueryDialect(MergeDialect):
    name = "bigquery"
    types = {
        "key": "STRING",
        "text": "STRING",
        "int": "INT64",
        "float": "FLOAT64",
        "date": "DATE",
        "datetime": "DATETIME",
        "json": "STRING",
        "timestamp": "DATETIME",
    }

    def create_table_sql(self, spec: TableSpec) -> list[str]:
        # BigQuery keys are informational only and must be declared NOT ENFORCED.
        columns = ", ".join(self.column_sql(spec, c) for c in spec.columns)
        return [f"CREATE TABLE {spec.name} ({columns}, PRIMARY KEY ({', '.join(spec.key)}) NOT ENFORCED)"]


class RedshiftDialect(StagedDialect):
    # Redshift's MERGE has no "WHEN MATCHED AND <condition>", so it keeps the delete + insert path.
    name = "redshift"
    types = {**_COMMON_TYPES, "text": "VARCHAR(65535)"}


class MsSqlDialect(MergeDialect):
    name = "mssql"
    types = {**_COMMON_TYPES, "text": "NVARCHAR(4000)", "json": "NVARCHAR(MAX)", "timestamp": "DATETIME2"}

    merge_terminator = ";"  # SQL Server requires MERGE to end with a semicolon


_BY_NAME: dict[str, type[Dialect]] = {
    "sqlite": SqliteDialect,
    "postgresql": PostgresDialect,
    "postgres": PostgresDialect,
    "mysql": MySqlDialect,
    "mariadb": MySqlDialect,
    "snowflake": SnowflakeDialect,
    "bigquery": BigQueryDialect,
    "redshift": RedshiftDialect,
    "mssql": MsSqlDialect,
    "staged": StagedDialect,
    "merge": MergeDialect,
}


def _lookup(name: str | None) -> type[Dialect] | None:
    return _BY_NAME.get((name or "").lower().split("+")[0])


def get_dialect(database: str, placeholder: str, method: str | None = None) -> Dialect:
    """The dialect of a DbApiHook's ``dialect_name``; unknown databases get the staged upsert.

    :param method: force another upsert (``"staged"``, ``"merge"``); column types, value adapters,
        DDL (collations), table checks and the writers' lock stay the database's own.
    """
    native = _lookup(database) or StagedDialect
    chosen = _lookup(method) if method else native
    if chosen is None:
        raise ValueError(f"unknown sql_dialect {method!r}; one of {', '.join(sorted(_BY_NAME))}")
    if chosen is not native and not issubclass(native, chosen):
        # The forced upsert first, then the database's own DDL, checks and lock: a forced
        # "staged" on MariaDB must still create exact-key tables and refuse merging ones.
        chosen = type(f"{chosen.__name__}On{native.__name__}", (chosen, native), {})
    dialect = chosen(placeholder)
    dialect.types = native.types
    dialect.adapters = native.adapters
    dialect.dates_as_text = native.dates_as_text
    return dialect
