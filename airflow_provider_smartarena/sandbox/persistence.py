"""Optional SQLite persistence (``--db PATH``): the store is written through after each change."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from airflow_provider_smartarena.sandbox.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
                                    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqlitePersistence:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    def load(self) -> Store | None:
        """The persisted store, or None when the database is empty."""
        rows = self._conn.execute("SELECT kind, key, data FROM records").fetchall()
        if not rows:
            return None
        store = Store()
        store.track_changes = False
        for kind, key, data in rows:
            store.load_record(kind, key, json.loads(data))
        store.rebuild_indexes()
        store.track_changes = True
        return store

    def setting(self, key: str) -> Any:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_setting(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def save_all(self, store: Store) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM records")
            self._conn.executemany(
                "INSERT INTO records VALUES (?, ?, ?)",
                ((kind, key, json.dumps(value)) for kind, key, value in store.all_records()),
            )
            self._conn.execute("COMMIT")
            store.dirty.clear()

    def flush(self, store: Store) -> None:
        """Write the records changed since the last flush, in one transaction."""
        if not store.dirty:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            for kind, key in sorted(store.dirty):
                record = store.record(kind, key)
                if record is None:
                    self._conn.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
                else:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (kind, key, json.dumps(record))
                    )
            self._conn.execute("COMMIT")
            store.dirty.clear()

    def close(self) -> None:
        self._conn.close()
