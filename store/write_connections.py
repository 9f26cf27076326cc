"""The driver connections appends run on, kept out of the pool between appends.

An append is a handful of statements; checking a connection out of SQLAlchemy's pool and back
(events, reset, PostgreSQL's pre-ping round trip) cost as much as the statements. These come
from the engine once (so its connect-time settings apply) and are then reused as they are.
PostgreSQL connections are switched to autocommit: the appender sends BEGIN and COMMIT itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

__all__ = ["WriteConnections"]

# Idle connections kept; more are closed when returned (appends come from a few threads).
_KEEP = 4


class WriteConnections:
    def __init__(self, engine: Engine, setup: Callable[[Any], None] | None = None) -> None:
        """``setup`` runs once on each new connection (PostgreSQL prepares statements)."""
        self._engine = engine
        self._setup = setup
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> Any:
        """An idle connection, or a new one made by the engine."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        # Detached: the pool forgets it, so it is ours to reuse and close.
        proxied = self._engine.raw_connection()
        connection = proxied.driver_connection
        proxied.detach()
        if self._engine.dialect.name == "postgresql":
            connection.autocommit = True  # type: ignore[union-attr]
        if self._setup is not None:
            try:
                self._setup(connection)
            except BaseException:
                self.discard(connection)
                raise
        return connection

    def put(self, connection: Any) -> None:
        """Return a connection that is idle (no transaction open)."""
        with self._lock:
            if not self._closed and len(self._idle) < _KEEP:
                self._idle.append(connection)
                return
        self.discard(connection)

    @staticmethod
    def discard(connection: Any) -> None:
        # Closing a connection that already broke may fail again; it is gone either way.
        with contextlib.suppress(Exception):
            connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            self.discard(connection)
