"""Which notification ids the JSONL outbox already holds, in O(1) per alert.

A SQLite file beside the outbox (``notifications.jsonl.ids.sqlite``) keeps every written id
under a unique key, plus how many bytes of the outbox it has indexed. The outbox stays the
record: whatever lies beyond that offset (lines written by a process that died before it
indexed them, or a whole outbox from before the index existed) is read and indexed first, so
the index can lag the file but never misses a line, and a retried alert is still found.
The caller holds the outbox's exclusive lock, which also serialises the index's writers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import IO

__all__ = ["OutboxIndex", "index_path"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sent (notification_id TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS indexed (id INTEGER PRIMARY KEY CHECK (id = 1), offset INTEGER)",
)


def index_path(outbox: Path) -> Path:
    return outbox.with_name(outbox.name + ".ids.sqlite")


class OutboxIndex:
    """Opened per call under the outbox lock; cheap next to the alert's own write."""

    def __init__(self, outbox: Path) -> None:
        self._db = sqlite3.connect(index_path(outbox), isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        self._db.close()

    def catch_up(self, fh: IO[bytes]) -> int:
        """Index every line past the indexed offset; returns the outbox's size."""
        fh.seek(0, 2)
        size = fh.tell()
        row = self._db.execute("SELECT offset FROM indexed WHERE id = 1").fetchone()
        offset = row[0] if row else 0
        if offset == size:
            return size
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if offset > size:  # the outbox was truncated or replaced: index it afresh
                self._db.execute("DELETE FROM sent")
                offset = 0
            fh.seek(offset)
            ids = [(json.loads(line)["notification_id"],) for line in fh if line.strip()]
            self._db.executemany("INSERT OR IGNORE INTO sent VALUES (?)", ids)
            self._set_offset(size)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return size

    def holds(self, notification_id: str) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM sent WHERE notification_id = ?", (notification_id,)
        ).fetchone()
        return found is not None

    def add(self, notification_id: str, size: int) -> None:
        """Record an id whose line now ends the outbox at ``size`` bytes."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR IGNORE INTO sent VALUES (?)", (notification_id,))
            self._set_offset(size)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _set_offset(self, size: int) -> None:
        self._db.execute(
            "INSERT INTO indexed (id, offset) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET offset = excluded.offset",
            (size,),
        )
