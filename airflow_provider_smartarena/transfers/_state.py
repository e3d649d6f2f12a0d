"""The watermark state table: one row per (Smart ARENA connection, stream), in the target database.

Keeping the watermark next to the rows lets it be written in the same transaction as the last batch
it covers: either both are committed or neither, so the watermark can never pass unloaded rows.
"""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.exceptions import SmartArenaError
from airflow_provider_smartarena.transfers._dialects import Dialect
from airflow_provider_smartarena.transfers._schema import Column, TableSpec

DEFAULT_STATE_TABLE = "smartarena_extract_state"
_FORMAT = "%Y-%m-%d %H:%M:%S"


def state_spec(table: str) -> TableSpec:
    return TableSpec(
        table,
        (
            Column("conn_id", "text"),
            Column("stream", "text"),
            # Text in the API's own format and zone: exact, portable, and readable in any database.
            Column("watermark", "text"),
            Column("server_timezone", "text"),
            Column("mode", "text"),
            Column("rows_written", "int"),
            Column("run_id", "text"),
            Column("written_at", "timestamp"),
        ),
        key=("conn_id", "stream"),
    )


class SmartArenaStateError(SmartArenaError):
    """A stream's stored state cannot be trusted (unreadable, or ahead of the server's clock)."""


@dataclass(frozen=True)
class StreamState:
    """The stored watermark of a stream: a naive datetime on the server's wall clock."""

    watermark: dt.datetime
    timezone: str


class StateStore:
    """Reads and writes one stream's row; never commits (the loader owns the transaction)."""

    def __init__(self, dialect: Dialect, table: str, conn_id: str, stream: str) -> None:
        self.dialect = dialect
        self.spec = state_spec(table)
        self.conn_id = conn_id
        self.stream = stream

    def _where(self) -> str:
        p = self.dialect.placeholder
        return f"conn_id = {p} AND stream = {p}"

    def read(self, connection: Any, tz: ZoneInfo) -> StreamState | None:
        """The stream's watermark in the server time zone ``tz`` (converted if the zone changed)."""
        with closing(connection.cursor()) as cur:
            cur.execute(
                f"SELECT watermark, server_timezone FROM {self.spec.name} WHERE {self._where()}",
                (self.conn_id, self.stream),
            )
            row = cur.fetchone()
        if not row or not row[0]:
            return None
        try:
            watermark = dt.datetime.strptime(str(row[0]), _FORMAT)
        except ValueError:
            raise self._unreadable(f"watermark {str(row[0])[:40]!r} is not a {_FORMAT} datetime") from None
        stored_zone = row[1] or tz.key
        if stored_zone != tz.key:
            try:
                zone = ZoneInfo(str(stored_zone))
            except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
                problem = f"server_timezone {str(stored_zone)[:40]!r} is not an IANA time zone"
                raise self._unreadable(problem) from None
            watermark = watermark.replace(tzinfo=zone).astimezone(tz).replace(tzinfo=None)
        return StreamState(watermark, tz.key)

    def _row(self) -> str:
        return f"the row of stream {self.stream!r} (conn_id {self.conn_id!r}) in state table {self.spec.name}"

    def _fix(self, value: str) -> str:
        return (
            f"UPDATE {self.spec.name} SET watermark = '{value}' WHERE conn_id = '{self.conn_id}' "
            f"AND stream = '{self.stream}'"
        )

    def _unreadable(self, problem: str) -> SmartArenaStateError:
        return SmartArenaStateError(
            f"{self._row()} cannot be read: {problem}. Fix it (e.g. {self._fix('YYYY-MM-DD HH:MM:SS')}, "
            f'on the server\'s wall clock), or run once with mode="full_refresh", which rewrites it'
        )

    def ahead_of_clock(self, watermark: dt.datetime, t0: dt.datetime) -> str:
        """Why a watermark after the server's clock ``t0`` is refused, and how to fix it."""
        return (
            f"{self._row()} holds watermark {watermark.strftime(_FORMAT)}, after the server's clock "
            f"{t0.strftime(_FORMAT)} (T0): every run would read nothing. Reset it to T0 "
            f'({self._fix(t0.strftime(_FORMAT))}) or run once with mode="full_refresh"'
        )

    def write(
        self,
        cursor: Any,
        watermark: dt.datetime,
        tz: ZoneInfo,
        *,
        mode: str,
        rows_written: int,
        run_id: str | None,
    ) -> None:
        """Replace the stream's row with an upsert, so that two writers never collide on its key."""
        written_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        adapt = self.dialect.adapt("timestamp")
        row = (
            self.conn_id,
            self.stream,
            watermark.strftime(_FORMAT),
            tz.key,
            mode,
            rows_written,
            run_id,
            adapt(written_at) if adapt else written_at,
        )
        self.dialect.replace_row(cursor, self.spec, row, where=self._where(), key=(self.conn_id, self.stream))
