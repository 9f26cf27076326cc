"""``append``: check a batch against the stored heads, write events, heads and board rows at once.

Appends to one stream are serialised by its head: PostgreSQL locks the ``stream_heads`` row
(``FOR UPDATE``, or the placeholder insert of a new stream), SQLite runs every append in a
``BEGIN IMMEDIATE`` transaction. The unique (stream, seq) constraint is the backstop.

The board row is computed from the subject's fold: taken from this process's ``FoldCache`` when
it was folded up to the locked head, else resumed from the stored snapshot
(``subject_snapshots``, or from the first event) by reading only the events after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from domain.canonical import GENESIS_HASH
from domain.events import Event, parse_event
from domain.state import SubjectState
from domain.subject import ChainMismatch
from store.base import AppendResult, StreamHead
from store.envelopes import StreamBatch, group_batch
from store.errors import ConflictingEvent, PrevHashMismatch, SeqConflict
from store.fold_cache import FoldCache, Folded
from store.projection import board_values, fold_state, snapshot_due, snapshot_row
from store.write_connections import WriteConnections
from store.writers import (
    BoardWrite,
    EventRow,
    PostgresWriter,
    SqliteWriter,
    Writer,
    event_row,
)

__all__ = ["Appender"]

_REGISTERED = "subject.registered"


class _Plan:
    """What one append writes, collected before anything is sent."""

    def __init__(self) -> None:
        self.heads: list[tuple[str, int, str]] = []
        self.boards: list[BoardWrite] = []
        self.rows: list[EventRow] = []
        self.folded: dict[str, Folded] = {}


class Appender:
    """The write path of one store: its connections, its dialect and its fold cache."""

    def __init__(self, engine: Engine, cache: FoldCache) -> None:
        sqlite = engine.dialect.name == "sqlite"
        self._connections = WriteConnections(engine, None if sqlite else PostgresWriter.prepare)
        self._dialect = engine.dialect
        self._cache = cache
        self._sqlite = sqlite

    def close(self) -> None:
        self._connections.close()

    def forget(self) -> None:
        """Drop every folded state this process holds (they are folded again on demand)."""
        self._cache.clear()

    def append(self, events: Sequence[Event]) -> AppendResult:
        if not events:
            return AppendResult(written=0, duplicates=0, heads={})
        groups = group_batch(events)
        streams = sorted(groups)
        opening = [s for s in streams if groups[s].events[0].seq == 1]
        for attempt in (1, 2):
            connection = self._connect()
            writer: Writer = (SqliteWriter if self._sqlite else PostgresWriter)(connection)
            sent = False
            try:
                outcome: tuple[AppendResult, _Plan] | None = None
                assumed = self._continued_head(groups)
                if assumed is not None:
                    outcome = self._plan(writer, groups, assumed)
                    plan = outcome[1]
                    sent = True
                    (head,) = assumed.values()
                    if not writer.write_continuing(head, plan.heads, plan.boards, plan.rows):
                        outcome = None  # another process moved the head: the ordinary way
                if outcome is None:
                    heads = writer.begin(streams, opening)
                    sent = True
                    outcome = self._plan(writer, groups, heads)
                    plan = outcome[1]
                    if plan.rows:
                        writer.write(plan.heads, plan.boards, plan.rows)
                    else:
                        writer.rollback()
            except self._dialect.loaded_dbapi.Error as exc:
                wrapped = self._wrap(exc, connection, writer)
                # A connection that died before anything that can commit was sent (a stale
                # socket after a database restart) is retried once on a fresh one.
                if attempt == 1 and not sent and wrapped.connection_invalidated:
                    continue
                raise wrapped from exc
            except BaseException:
                _quietly_rollback(writer, self._connections, connection)
                raise
            self._connections.put(connection)
            result, plan = outcome
            for stream, folded in plan.folded.items():
                self._cache.put(stream, folded)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _continued_head(self, groups: dict[str, StreamBatch]) -> dict[str, StreamHead] | None:
        """The head a one-stream batch continues, if this process holds the fold up to it.

        Usually still the stored head (this process wrote it): the append then need not read it
        first (on PostgreSQL a round trip), and finds out in the same transaction if it moved.
        """
        if len(groups) != 1:
            return None
        ((stream, group),) = groups.items()
        first = group.events[0]
        if first.seq == 1 or self._cache.get(stream, first.seq - 1, first.prev_hash) is None:
            return None
        return {stream: StreamHead(first.seq - 1, first.prev_hash)}

    def _connect(self) -> Any:
        try:
            return self._connections.get()
        except self._dialect.loaded_dbapi.Error as exc:  # preparing a new connection failed
            dead = bool(self._dialect.is_disconnect(exc, None, None))
            raise self._wrapped(exc, dead) from exc

    def _wrapped(self, exc: Any, dead: bool) -> sa_exc.DBAPIError:
        wrapped = sa_exc.DBAPIError.instance(
            "event store append",
            None,
            exc,
            self._dialect.loaded_dbapi.Error,
            connection_invalidated=dead,
            dialect=self._dialect,
        )
        assert isinstance(wrapped, sa_exc.DBAPIError)  # orig is a DB-API error
        return wrapped

    def _wrap(self, exc: Any, connection: Any, writer: Writer) -> sa_exc.DBAPIError:
        """The error as SQLAlchemy would raise it; the connection kept only if it still works."""
        dead = bool(self._dialect.is_disconnect(exc, connection, None))
        if dead:
            self._connections.discard(connection)
        else:
            _quietly_rollback(writer, self._connections, connection)
        return self._wrapped(exc, dead)

    def _plan(
        self, writer: Writer, groups: dict[str, StreamBatch], heads: dict[str, StreamHead]
    ) -> tuple[AppendResult, _Plan]:
        plan = _Plan()
        written = duplicates = 0
        after: dict[str, StreamHead] = {}
        for stream in sorted(groups):
            group = groups[stream]
            head = heads.get(stream, StreamHead(0, GENESIS_HASH))
            stored = _check_stored(writer, group, head)
            duplicates += stored
            new = group.events[stored:]
            if not new:
                after[stream] = head
                continue
            first = new[0]
            if first.seq != head.seq + 1:
                raise SeqConflict(stream, head.seq + 1, first.seq)
            if first.prev_hash != head.hash:
                raise PrevHashMismatch(stream, first.seq, head.hash, first.prev_hash)
            self._project(writer, plan, stream, head, new)
            plan.heads.append((stream, new[-1].seq, new[-1].hash))
            plan.rows.extend(
                event_row(e, text, self._sqlite)
                for e, text in zip(new, group.envelopes[stored:], strict=True)
            )
            written += len(new)
            after[stream] = StreamHead(new[-1].seq, new[-1].hash)
        return AppendResult(written=written, duplicates=duplicates, heads=after), plan

    def _project(
        self, writer: Writer, plan: _Plan, stream: str, head: StreamHead, new: list[Event]
    ) -> None:
        folded = self._cache.get(stream, head.seq, head.hash) or _fold_to_head(writer, stream, head)
        # A stream that did not open with a registration is no subject's and stays off the board.
        # fold_state checks seq and prev_hash continuity, so a stale state fails, never drifts.
        subject = folded.state is not None or head.seq == 0
        state = fold_state(new, folded.state) if subject else None
        last = new[-1]
        state_seq = folded.state_seq
        board = None
        if state is not None:
            snapshot = None
            if snapshot_due(state_seq, state.last_seq):
                snapshot = snapshot_row(state)
                state_seq = state.last_seq
            board = board_values(state, last.recorded_at, with_state=False)
            plan.boards.append(BoardWrite(board, folded.board, snapshot))
        plan.folded[stream] = Folded(last.seq, last.hash, state, state_seq, board)


def _check_stored(writer: Writer, group: StreamBatch, head: StreamHead) -> int:
    """How many of the group's events are stored already; ``ConflictingEvent`` if any differs."""
    stored = [e for e in group.events if e.seq <= head.seq]
    if not stored:
        return 0
    hashes = writer.stored_hashes(group.stream, stored[0].seq, stored[-1].seq)
    for event in stored:
        if hashes.get(event.seq) != event.hash:
            raise ConflictingEvent(
                group.stream, event.seq, hashes.get(event.seq, "<missing>"), event.hash
            )
    return len(stored)


def _fold_to_head(writer: Writer, stream: str, head: StreamHead) -> Folded:
    """The stream's fold up to ``head``, for a process that does not hold it in memory."""
    if head.seq == 0:
        return Folded(0, GENESIS_HASH, None, 0)
    if writer.first_type(stream) != _REGISTERED:
        return Folded(head.seq, head.hash, None, 0)
    text, state_seq = writer.stored_state(stream) or (None, 0)
    if text is not None and 0 < state_seq <= head.seq:
        try:
            state = _resume(writer, stream, SubjectState.model_validate_json(text), head)
            return Folded(head.seq, head.hash, state, state_seq)
        except ChainMismatch:
            pass  # a stored state of another history (restored backup): fold from the start
    return Folded(head.seq, head.hash, fold_state(_events(writer, stream, 0, head.seq)), 0)


def _resume(writer: Writer, stream: str, state: SubjectState, head: StreamHead) -> SubjectState:
    resumed = fold_state(_events(writer, stream, state.last_seq, head.seq), state)
    if resumed is None or (resumed.last_seq, resumed.last_hash) != (head.seq, head.hash):
        raise ChainMismatch(f"stored state of {stream} does not lead to its head")
    return resumed


def _events(writer: Writer, stream: str, after: int, up_to: int) -> list[Event]:
    return [parse_event(json.loads(text)) for text in writer.envelopes(stream, after, up_to)]


def _quietly_rollback(writer: Writer, connections: WriteConnections, connection: Any) -> None:
    """Roll back and keep the connection; if even that fails, drop it. The error being raised
    is the one to report, not a failed rollback after it."""
    try:
        writer.rollback()
    except Exception:
        connections.discard(connection)
        return
    connections.put(connection)
