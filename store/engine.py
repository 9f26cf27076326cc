"""Engine construction: URL normalisation and the SQLite settings the store relies on."""

from __future__ import annotations

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


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy; pysqlite's own implicit BEGIN would defer the
        # write lock to the first INSERT, after the head has already been read.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_store_engine(url: str | URL) -> Engine:
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
    return create_engine(parsed, pool_pre_ping=True)
