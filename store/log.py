"""Reading the Merkle log's rows: every event with its indexed columns, in ``log_index`` order.

Only reads; the audit tools (audit/verify.py, audit/checkpoint.py) do the checking. Timestamps
come back as stored (text on SQLite, aware datetimes on PostgreSQL), so the comparison with the
envelope sees exactly what a direct SQL query would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, String, func, select, type_coerce

from store.base import EventStore, StreamHead
from store.schema import events, stream_heads

__all__ = ["LogRow", "LogStore", "log_store"]


class LogRow(NamedTuple):
    log_index: int | None
    stream: str
    seq: int
    type: str
    occurred_at: str | datetime
    recorded_at: str | datetime
    actor_id: str
    prev_hash: str
    hash: str
    envelope: str


class LogStore:
    """The log-order view of one SQL event store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._engine = engine

    def _columns(self) -> list[Any]:
        sqlite = self._engine.dialect.name == "sqlite"

        def raw(column: Any) -> Any:
            # SQLAlchemy's SQLite DateTime parsing costs more than the rest of the row; the
            # stored text is compared as is.
            return type_coerce(column, String).label(column.name) if sqlite else column

        return [
            events.c.log_index, events.c.stream, events.c.seq, events.c.type,
            raw(events.c.occurred_at), raw(events.c.recorded_at), events.c.actor_id,
            events.c.prev_hash, events.c.hash, events.c.envelope,
        ]  # fmt: skip

    def pages(self, batch_size: int = 5000, after: int = -1) -> Iterator[list[LogRow]]:
        """Rows with a log index above ``after``, a page at a time (keyset pagination)."""
        columns = self._columns()
        while True:
            query = (
                select(*columns)
                .where(events.c.log_index > after)
                .order_by(events.c.log_index)
                .limit(batch_size)
            )
            with self._engine.connect() as conn:
                page = [LogRow(*row) for row in conn.execute(query)]
            if page:
                yield page
            if len(page) < batch_size:
                return
            after = int(page[-1].log_index or 0)

    def stream_rows(self, stream: str) -> list[LogRow]:
        """One stream's rows in seq order (logged or not)."""
        query = select(*self._columns()).where(events.c.stream == stream).order_by(events.c.seq)
        with self._engine.connect() as conn:
            return [LogRow(*row) for row in conn.execute(query)]

    def raw_pages(
        self, batch_size: int = 20_000, after: int = -1, chunk_size: int = 500
    ) -> Iterator[list[tuple[Any, ...]]]:
        """As ``pages``, as plain tuples straight from the database driver, in small chunks.

        Skips SQLAlchemy's per-row processing, which costs as much as the checks themselves on a
        200,000-event verify; SQLite returns the stored time text, PostgreSQL aware datetimes.
        Each query still reads ``batch_size`` rows, but they are handed on ``chunk_size`` at a
        time while the query's connection stays open: a whole page of rows held at once costs
        a third more than the rows themselves (fresh memory for every row instead of the blocks
        the previous chunk freed).
        """
        mark = "?" if self._engine.dialect.name == "sqlite" else "%s"
        sql = (
            "SELECT log_index, stream, seq, type, occurred_at, recorded_at, actor_id, prev_hash, "
            f"hash, envelope FROM events WHERE log_index > {mark} ORDER BY log_index LIMIT {mark}"
        )
        while True:
            read = 0
            with self._engine.connect() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(sql, (after, batch_size))
                    while chunk := cursor.fetchmany(chunk_size):
                        read += len(chunk)
                        after = int(chunk[-1][0])
                        yield chunk
                finally:
                    cursor.close()
            if read < batch_size:
                return

    def unlogged(self) -> list[LogRow]:
        """Rows without a log index: never written by ``append``."""
        query = (
            select(*self._columns())
            .where(events.c.log_index.is_(None))
            .order_by(events.c.stream, events.c.seq)
        )
        with self._engine.connect() as conn:
            return [LogRow(*row) for row in conn.execute(query)]

    def heads(self) -> dict[str, StreamHead]:
        query = select(stream_heads.c.stream, stream_heads.c.seq, stream_heads.c.hash).where(
            stream_heads.c.seq > 0
        )
        with self._engine.connect() as conn:
            return {stream: StreamHead(seq, digest) for stream, seq, digest in conn.execute(query)}

    def size(self) -> int:
        with self._engine.connect() as conn:
            found = conn.execute(select(func.max(events.c.log_index))).scalar_one_or_none()
        return 0 if found is None else int(found) + 1

    def index_of(self, stream: str, seq: int) -> int | None:
        query = select(events.c.log_index).where(events.c.stream == stream, events.c.seq == seq)
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else int(found)


def log_store(store: EventStore) -> LogStore:
    """The log view of a SQL store (or of a wrapper around one, such as store.traced)."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError(f"the Merkle log needs a SQL event store, not {type(store).__name__}")
    return LogStore(engine)
