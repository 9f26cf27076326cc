"""The event store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Reads and maintenance go through SQLAlchemy; appends through store/append.py, which also says how
concurrent appends are serialised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, tuple_
from sqlalchemy.engine import URL

from domain.events import Event, parse_event
from store.append import Appender
from store.base import AppendResult, StreamHead
from store.engine import SQLITE_BEGIN, create_store_engine
from store.errors import StoreError
from store.fold_cache import FoldCache
from store.migrate import upgrade_engine
from store.projection import BoardRow, board_values, fold_state, snapshot_row
from store.refusals import Refusal, find_refusal, record_refusal
from store.schema import events as events_table
from store.schema import stream_heads, subject_board, subject_snapshots

__all__ = ["SqlEventStore"]

_SUPPORTED = ("sqlite", "postgresql")


def envelope_text(event: Event) -> str:
    """The exact text stored for an event: the canonical JSON its hash was computed over."""
    return event.envelope_text()


def _board_row(row_json: str) -> BoardRow:
    return BoardRow.model_validate_json(row_json)


class SqlEventStore:
    """``EventStore`` over a SQLAlchemy engine; one engine, one connection per call."""

    def __init__(self, url: str | URL, *, migrate: bool = True) -> None:
        self._engine: Engine = create_store_engine(url)
        if self._engine.dialect.name not in _SUPPORTED:
            self._engine.dispose()
            raise StoreError(f"unsupported database {self._engine.dialect.name!r}")
        if migrate:
            upgrade_engine(self._engine)
        self._appender = Appender(self._engine, FoldCache())

    @property
    def url(self) -> URL:
        return self._engine.url

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._appender.close()
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def append(self, events: Sequence[Event]) -> AppendResult:
        return self._appender.append(events)

    def rebuild_board(self) -> int:
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Appends take ROW SHARE on stream_heads; this waits for them and holds new ones.
                conn.execute(text("LOCK TABLE stream_heads IN EXCLUSIVE MODE"))
            conn.execute(delete(subject_board))
            conn.execute(delete(subject_snapshots))
            streams = conn.execute(
                select(stream_heads.c.stream).where(stream_heads.c.seq > 0)
            ).scalars()
            rows = 0
            for stream in list(streams):
                events = self._events(conn, stream)
                state = fold_state(events)
                if state is not None:
                    values = board_values(state, events[-1].recorded_at, with_state=False)
                    conn.execute(insert(subject_board).values(**values))
                    subject_id, snapshot, state_seq = snapshot_row(state)
                    conn.execute(
                        insert(subject_snapshots).values(
                            subject_id=subject_id, state=snapshot, state_seq=state_seq
                        )
                    )
                    rows += 1
        # The rows now hold states this process's cache does not know the age of.
        self._appender.forget()
        return rows

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def _texts(
        conn: Connection, stream: str, after_seq: int = 0, up_to: int | None = None
    ) -> list[str]:
        query = select(events_table.c.envelope).where(
            events_table.c.stream == stream, events_table.c.seq > after_seq
        )
        if up_to is not None:
            query = query.where(events_table.c.seq <= up_to)
        return list(conn.execute(query.order_by(events_table.c.seq)).scalars())

    def _events(
        self, conn: Connection, stream: str, after_seq: int = 0, up_to: int | None = None
    ) -> list[Event]:
        return [parse_event(json.loads(t)) for t in self._texts(conn, stream, after_seq, up_to)]

    def read_stream(self, stream: str, after_seq: int = 0) -> list[Event]:
        with self._engine.connect() as conn:
            return self._events(conn, stream, after_seq)

    def read_text(self, stream: str) -> list[str]:
        with self._engine.connect() as conn:
            return self._texts(conn, stream)

    def read_raw(self, stream: str) -> list[dict[str, Any]]:
        return [json.loads(t) for t in self.read_text(stream)]

    def read_all_raw(self, batch_size: int = 1000) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        current: str | None = None
        rows: list[dict[str, Any]] = []
        after: tuple[str, int] | None = None
        while True:
            # Keyset pagination: each page is a short query, so no transaction or cursor stays
            # open while the caller works through 200k events.
            key = tuple_(events_table.c.stream, events_table.c.seq)
            query = select(events_table.c.stream, events_table.c.seq, events_table.c.envelope)
            if after is not None:
                query = query.where(key > tuple_(*after))
            query = query.order_by(events_table.c.stream, events_table.c.seq).limit(batch_size)
            with self._engine.connect() as conn:
                page = conn.execute(query).all()
            for stream, seq, envelope in page:
                if stream != current:
                    if current is not None:
                        yield current, rows
                    current, rows = stream, []
                rows.append(json.loads(envelope))
                after = (stream, seq)
            if len(page) < batch_size:
                break
        if current is not None:
            yield current, rows

    def record_refusal(self, refusal: Refusal) -> None:
        record_refusal(self._engine, refusal)

    def refusal(self, command_id: str) -> Refusal | None:
        return find_refusal(self._engine, command_id)

    def command_events(self, command_id: str) -> list[Event]:
        # The envelope is canonical JSON, so the id appears exactly in this form. A scan, but
        # only for status look-ups; the caller checks the id is a UUID (no LIKE wildcards).
        needle = f'%"command_id":{json.dumps(command_id)}%'
        query = (
            select(events_table.c.envelope)
            .where(events_table.c.envelope.like(needle))
            .order_by(events_table.c.position)
        )
        with self._engine.connect() as conn:
            return [parse_event(json.loads(t)) for t in conn.execute(query).scalars()]

    def streams(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(
                    select(stream_heads.c.stream)
                    .where(stream_heads.c.seq > 0)
                    .order_by(stream_heads.c.stream)
                ).scalars()
            )

    def head(self, stream: str) -> StreamHead | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(stream_heads.c.seq, stream_heads.c.hash).where(
                    stream_heads.c.stream == stream, stream_heads.c.seq > 0
                )
            ).first()
        return StreamHead(row.seq, row.hash) if row is not None else None

    def count_events(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events_table)).scalar_one())

    def board(
        self,
        phase: str | None = None,
        disease: str | None = None,
        dose_level: str | None = None,
    ) -> list[BoardRow]:
        query = select(subject_board.c.row_json).order_by(subject_board.c.subject_id)
        if phase is not None:
            query = query.where(subject_board.c.phase == phase)
        if disease is not None:
            query = query.where(subject_board.c.disease == disease)
        if dose_level is not None:
            query = query.where(subject_board.c.dose_level == dose_level)
        with self._engine.connect() as conn:
            return [_board_row(row_json) for row_json in conn.execute(query).scalars()]

    def board_row(self, subject_id: str) -> BoardRow | None:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(subject_board.c.row_json).where(subject_board.c.subject_id == subject_id)
            ).scalar_one_or_none()
        return _board_row(found) if found is not None else None
