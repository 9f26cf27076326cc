"""Engine construction: URL normalisation and the SQLite settings the store relies on."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_store_engine", "normalise_url"]

# How long a writer waits for another writer's BEGIN IMMEDIATE before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Execution option naming how a SQLite transaction begins (DEFERRED for reads, IMMEDIATE to
# take the write lock up front so two appenders cannot both read the same head).
SQLITE_BEGIN = "sqlite_begin"


def normalise_url(url: str | URL) -> URL:
    """Pin the drivers the project ships (psycopg 3) and make SQLite paths absolute."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "").expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    return parsed


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, retrying while another connection holds the lock.

    The switch needs an exclusive lock and SQLite may answer "database is locked" at once,
    without calling the busy handler (another process is opening or recovering the same new
    file); two processes starting together on a loaded machine hit exactly that.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            # WAL is a property of the file: once set, reading it back needs no lock at all.
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            message = str(exc).lower()
            if ("locked" not in message and "busy" not in message) or (time.monotonic() > deadline):
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy; pysqlite's own implicit BEGIN would defer the
        # write lock to the first INSERT, after the head has already been read.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # First, so every statement after it (the journal-mode switch too) waits for a lock.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
            # FULL: a commit is on disk before the append returns. Under NORMAL a WAL commit
            # survives a crash of the process but not of the machine, and the workflow would go
            # on from events the store no longer holds after a power cut.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_store_engine(url: str | URL, *, pre_ping: bool = True) -> Engine:
    """An engine for the store; ``pre_ping`` (PostgreSQL) tests each pooled connection on
    checkout with a round trip of its own."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            },
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=pre_ping)
