"""The event store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Appends to one stream are serialised by locking that stream's ``stream_heads`` row
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every append is a ``BEGIN IMMEDIATE``
transaction, which serialises all writers). The unique (stream, seq) constraint is the backstop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from domain.canonical import GENESIS_HASH
from domain.events import Event, compute_hash, parse_event
from domain.state import SubjectState
from store.base import AppendResult, StreamHead
from store.engine import SQLITE_BEGIN, create_store_engine
from store.errors import (
    ConflictingEvent,
    InvalidEvent,
    PrevHashMismatch,
    SeqConflict,
    StoreError,
)
from store.migrate import upgrade_engine
from store.projection import BoardRow, board_values, fold_state, utc
from store.refusals import Refusal, find_refusal, record_refusal
from store.schema import events as events_table
from store.schema import stream_heads, subject_board

__all__ = ["SqlEventStore"]

_SUPPORTED = ("sqlite", "postgresql")

# Arbitrary constant: the PostgreSQL advisory lock that hands out Merkle log indexes in commit
# order (SQLite's BEGIN IMMEDIATE already serialises every append).
_PG_LOG_LOCK = 7_231_010


def envelope_text(event: Event) -> str:
    """The exact text stored for an event: the canonical JSON its hash was computed over."""
    return event.envelope_text()


def _event_values(event: Event, log_index: int) -> dict[str, Any]:
    return {
        "log_index": log_index,
        "stream": event.stream,
        "seq": event.seq,
        "type": event.type,
        "occurred_at": utc(event.occurred_at),
        "recorded_at": utc(event.recorded_at),
        "actor_id": event.actor.user_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "envelope": envelope_text(event),
    }


def _names_seq_constraint(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return "uq_events_stream_seq" in text or "events.stream, events.seq" in text


def _board_row(state: str, updated_at: datetime | None) -> BoardRow:
    return BoardRow.from_state(SubjectState.model_validate_json(state), utc(updated_at))


def _group_batch(batch: Sequence[Event]) -> dict[str, list[Event]]:
    """Split a batch by stream, refusing anything that is wrong without looking at the store."""
    groups: dict[str, list[Event]] = {}
    for event in batch:
        actual = compute_hash(event.hash_input())
        if actual != event.hash:
            raise InvalidEvent(
                f"stream {event.stream!r} seq {event.seq}: hash {event.hash} does not match "
                f"the event's content (recomputed {actual})"
            )
        group = groups.setdefault(event.stream, [])
        if group:
            previous = group[-1]
            if event.seq != previous.seq + 1 or event.prev_hash != previous.hash:
                raise InvalidEvent(
                    f"stream {event.stream!r}: seq {event.seq} does not directly follow "
                    f"seq {previous.seq} in the batch"
                )
        group.append(event)
    return groups


class SqlEventStore:
    """``EventStore`` over a SQLAlchemy engine; one engine, one connection per call."""

    def __init__(self, url: str | URL, *, migrate: bool = True) -> None:
        self._engine: Engine = create_store_engine(url)
        if self._engine.dialect.name not in _SUPPORTED:
            self._engine.dispose()
            raise StoreError(f"unsupported database {self._engine.dialect.name!r}")
        if migrate:
            upgrade_engine(self._engine)

    @property
    def url(self) -> URL:
        return self._engine.url

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
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

    def _insert(self, table: Any) -> Any:
        """An INSERT that can take ON CONFLICT clauses, in the engine's dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def append(self, events: Sequence[Event]) -> AppendResult:
        if not events:
            return AppendResult(written=0, duplicates=0, heads={})
        groups = _group_batch(events)
        written = duplicates = 0
        heads: dict[str, StreamHead] = {}
        with self._write() as conn:
            # Taken before any head lock (a fixed order, no deadlock) and held to commit, so
            # log indexes are gapless and in commit order: the Merkle log only ever grows.
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOG_LOCK})
            next_index = int(
                conn.execute(
                    select(func.coalesce(func.max(events_table.c.log_index) + 1, 0))
                ).scalar_one()
            )
            # A fixed lock order, so two multi-stream batches cannot deadlock each other.
            for stream in sorted(groups):
                new, dup, head = self._append_stream(conn, stream, groups[stream], next_index)
                next_index += new
                written += new
                duplicates += dup
                heads[stream] = head
        return AppendResult(written=written, duplicates=duplicates, heads=heads)

    def _lock_head(self, conn: Connection, stream: str) -> StreamHead:
        """Lock the stream's head row, creating a seq-0 placeholder for a new stream.

        The placeholder only ever commits together with the stream's first events.
        """
        locked = (
            select(stream_heads.c.seq, stream_heads.c.hash)
            .where(stream_heads.c.stream == stream)
            .with_for_update()
        )
        row = conn.execute(locked).first()
        if row is None:
            # Two first appends race here; ON CONFLICT makes the loser wait for the winner's
            # commit and then lock the winner's row.
            conn.execute(
                self._insert(stream_heads)
                .values(stream=stream, seq=0, hash=GENESIS_HASH)
                .on_conflict_do_nothing(index_elements=["stream"])
            )
            row = conn.execute(locked).one()
        return StreamHead(row.seq, row.hash)

    def _append_stream(
        self, conn: Connection, stream: str, batch: list[Event], log_index: int
    ) -> tuple[int, int, StreamHead]:
        head = self._lock_head(conn, stream)
        stored = [e for e in batch if e.seq <= head.seq]
        if stored:
            hashes: dict[int, str] = {
                seq: digest
                for seq, digest in conn.execute(
                    select(events_table.c.seq, events_table.c.hash).where(
                        events_table.c.stream == stream,
                        events_table.c.seq.between(stored[0].seq, stored[-1].seq),
                    )
                )
            }
            for event in stored:
                if hashes.get(event.seq) != event.hash:
                    raise ConflictingEvent(
                        stream, event.seq, hashes.get(event.seq, "<missing>"), event.hash
                    )
        new = batch[len(stored) :]
        if not new:
            return 0, len(stored), head
        first = new[0]
        if first.seq != head.seq + 1:
            raise SeqConflict(stream, head.seq + 1, first.seq)
        if first.prev_hash != head.hash:
            raise PrevHashMismatch(stream, first.seq, head.hash, first.prev_hash)
        try:
            conn.execute(
                insert(events_table),
                [_event_values(e, log_index + i) for i, e in enumerate(new)],
            )
        except IntegrityError as exc:
            # Unreachable while the head lock holds; kept so a bypassed lock still cannot fork.
            # Any other constraint refused a value: that is no seq race, and no retry fixes it.
            if _names_seq_constraint(exc):
                raise SeqConflict(stream, head.seq + 1, first.seq) from exc
            raise
        self._project(conn, stream, new)
        new_head = StreamHead(new[-1].seq, new[-1].hash)
        conn.execute(
            update(stream_heads)
            .where(stream_heads.c.stream == stream)
            .values(seq=new_head.seq, hash=new_head.hash)
        )
        return len(new), len(stored), new_head

    def _project(self, conn: Connection, stream: str, new: list[Event]) -> None:
        stored = conn.execute(
            select(subject_board.c.state).where(subject_board.c.subject_id == stream)
        ).scalar_one_or_none()
        state = SubjectState.model_validate_json(stored) if stored is not None else None
        known = state.last_seq if state is not None else 0
        before = new[0].seq - 1
        if known != before:
            # The board is behind the log (it was added or cleared later): catch up first. A
            # state ahead of the log cannot come from this store; fold it again from the start.
            if known > before:
                state, known = None, 0
            state = fold_state(self._events(conn, stream, after_seq=known, up_to=before), state)
        # Checks seq and prev_hash continuity, so a stale state fails rather than drifts.
        state = fold_state(new, state)
        if state is None:  # not a subject stream
            return
        values = board_values(state, new[-1].recorded_at)
        conn.execute(
            self._insert(subject_board)
            .values(**values)
            .on_conflict_do_update(index_elements=["subject_id"], set_=values)
        )

    def rebuild_board(self) -> int:
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Appends take ROW SHARE on stream_heads; this waits for them and holds new ones.
                conn.execute(text("LOCK TABLE stream_heads IN EXCLUSIVE MODE"))
            conn.execute(delete(subject_board))
            streams = conn.execute(
                select(stream_heads.c.stream).where(stream_heads.c.seq > 0)
            ).scalars()
            rows = 0
            for stream in list(streams):
                events = self._events(conn, stream)
                state = fold_state(events)
                if state is not None:
                    values = board_values(state, events[-1].recorded_at)
                    conn.execute(insert(subject_board).values(**values))
                    rows += 1
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
        query = select(subject_board.c.state, subject_board.c.updated_at).order_by(
            subject_board.c.subject_id
        )
        if phase is not None:
            query = query.where(subject_board.c.phase == phase)
        if disease is not None:
            query = query.where(subject_board.c.disease == disease)
        if dose_level is not None:
            query = query.where(subject_board.c.dose_level == dose_level)
        with self._engine.connect() as conn:
            return [_board_row(state, updated_at) for state, updated_at in conn.execute(query)]

    def board_row(self, subject_id: str) -> BoardRow | None:
        with self._engine.connect() as conn:
            found = conn.execute(
                select(subject_board.c.state, subject_board.c.updated_at).where(
                    subject_board.c.subject_id == subject_id
                )
            ).first()
        return _board_row(found.state, found.updated_at) if found is not None else None
