"""The append transaction's statements, per database, on the driver connection.

Plain driver calls with statements written out once: SQLAlchemy Core's statement building and
caching cost more than the database work of an append. The columns and their stored forms are
those of store/schema.py (SQLite keeps times as SQLAlchemy writes them, "YYYY-MM-DD HH:MM:SS.ffffff"
in UTC; PostgreSQL gets aware datetimes).

PostgreSQL: the transaction is two round trips. The first begins and locks the heads; the second
writes the heads and board rows, then takes the store-wide log lock, inserts the events numbered
from the current end of the log, and commits. A batch continuing the head this process wrote
last needs only the second (``write_continuing``). The log lock is taken last and held only for the
insert and the commit, so ``log_index`` stays gapless and in commit order while everything else
of concurrent appends (locking heads, checks, folding, board rows) runs side by side. Nothing
waits for a row lock while holding the log lock, so the order cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple, Protocol

from domain.canonical import GENESIS_HASH
from domain.events import Event
from store.base import StreamHead

__all__ = [
    "PG_LOG_LOCK",
    "BoardWrite",
    "EventRow",
    "PostgresWriter",
    "SqliteWriter",
    "Writer",
    "event_row",
]

# Arbitrary constant: the PostgreSQL advisory lock that hands out Merkle log indexes in commit
# order (SQLite's BEGIN IMMEDIATE already serialises every append).
PG_LOG_LOCK = 7_231_010

# stream, seq, type, occurred_at, recorded_at, actor_id, prev_hash, hash, envelope
EventRow = tuple[str, int, str, Any, Any, str, str, str, str]

_BOARD_COLUMNS = (
    "subject_id", "disease", "phase", "dose_level", "route", "infusion_date", "next_visit_code",
    "next_visit_target", "next_visit_window_start", "next_visit_window_end", "open_deviations",
    "last_seq", "updated_at", "row_json",
)  # fmt: skip
# PostgreSQL types of the board columns, in order (prepared statements declare them).
_BOARD_TYPES = (
    "text, text, text, text, text, date, text, date, date, date, integer, integer, "
    "timestamptz, text"
)


class BoardWrite(NamedTuple):
    """A subject's new board columns, the ones this process last wrote (None: unknown), and the
    folded state to store now, if it is due (subject_id, state JSON, state_seq)."""

    values: dict[str, Any]
    previous: Mapping[str, Any] | None
    snapshot: tuple[str, str, int] | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_time(moment: datetime) -> str:
    return _utc(moment).replace(tzinfo=None).isoformat(" ", "microseconds")


def event_row(event: Event, envelope: str, sqlite: bool) -> EventRow:
    occurred, recorded = _utc(event.occurred_at), _utc(event.recorded_at)
    return (
        event.stream, event.seq, event.type,
        _sqlite_time(occurred) if sqlite else occurred,
        _sqlite_time(recorded) if sqlite else recorded,
        event.actor.user_id, event.prev_hash, event.hash, envelope,
    )  # fmt: skip


def _board_sql(mark: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in _BOARD_COLUMNS[1:])
    return (
        f"INSERT INTO subject_board ({', '.join(_BOARD_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_BOARD_COLUMNS))}) "
        f"ON CONFLICT (subject_id) DO UPDATE SET {updates}"
    )


def _board_params(values: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    params = [values[c] for c in _BOARD_COLUMNS]
    if sqlite:
        params = [_sqlite_value(v) for v in params]
    return tuple(params)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _sqlite_time(value)
    return value.isoformat() if isinstance(value, date) else value


def _statements(mark: str) -> dict[str, str]:
    return {
        "heads": f"SELECT stream, seq, hash FROM stream_heads WHERE stream = {mark}",
        "hashes": (
            f"SELECT seq, hash FROM events WHERE stream = {mark} AND seq BETWEEN {mark} AND {mark}"
        ),
        "stored_state": (
            f"SELECT state, state_seq FROM subject_snapshots WHERE subject_id = {mark}"
        ),
        "first_type": f"SELECT type FROM events WHERE stream = {mark} AND seq = 1",
        "envelopes": (
            f"SELECT envelope FROM events WHERE stream = {mark} AND seq > {mark} AND seq <= {mark} "
            "ORDER BY seq"
        ),
        "head_upsert": (
            f"INSERT INTO stream_heads (stream, seq, hash) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
        ),
        # Numbered from the end of the log as this very statement sees it: one row at a time,
        # each after the previous, inside a transaction that alone may append to the log.
        "event_insert": (
            "INSERT INTO events (log_index, stream, seq, type, occurred_at, recorded_at, "
            "actor_id, prev_hash, hash, envelope) VALUES ("
            "(SELECT COALESCE(MAX(log_index) + 1, 0) FROM events), "
            f"{', '.join([mark] * 9)})"
        ),
        "board": _board_sql(mark),
        "snapshot": (
            f"INSERT INTO subject_snapshots (subject_id, state, state_seq) "
            f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT (subject_id) DO UPDATE SET "
            "state = excluded.state, state_seq = excluded.state_seq"
        ),
    }


class Writer(Protocol):
    """One append transaction on one driver connection."""

    sqlite: bool

    def begin(self, streams: Sequence[str], new: Sequence[str]) -> dict[str, StreamHead]:
        """Start the transaction and lock the heads of ``streams`` (sorted); ``new`` are
        streams the batch starts at seq 1. Returns the heads that exist."""
        ...

    def stored_hashes(self, stream: str, first: int, last: int) -> dict[int, str]: ...

    def stored_state(self, stream: str) -> tuple[str | None, int] | None: ...

    def first_type(self, stream: str) -> str | None: ...

    def envelopes(self, stream: str, after: int, up_to: int) -> list[str]: ...

    def write(
        self,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> None:
        """Write heads, board rows and events, and commit."""
        ...

    def write_continuing(
        self,
        expected: StreamHead,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> bool:
        """Begin, write and commit one stream's append if its head is still ``expected``; False
        (nothing written, no transaction open) if it is not."""
        ...

    def rollback(self) -> None: ...


class _Reads:
    sqlite: bool
    _sql: ClassVar[dict[str, str]]

    def __init__(self, connection: Any) -> None:
        self._conn = connection

    def _all(self, key: str, params: tuple[Any, ...]) -> list[Any]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(self._sql[key], params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def stored_hashes(self, stream: str, first: int, last: int) -> dict[int, str]:
        return {int(seq): str(digest) for seq, digest in self._all("hashes", (stream, first, last))}

    def stored_state(self, stream: str) -> tuple[str | None, int] | None:
        found = self._all("stored_state", (stream,))
        return (found[0][0], int(found[0][1])) if found else None

    def first_type(self, stream: str) -> str | None:
        found = self._all("first_type", (stream,))
        return str(found[0][0]) if found else None

    def envelopes(self, stream: str, after: int, up_to: int) -> list[str]:
        return [str(text) for (text,) in self._all("envelopes", (stream, after, up_to))]


class SqliteWriter(_Reads):
    """BEGIN IMMEDIATE serialises every writer of the file, so heads need no row locks."""

    sqlite = True
    _sql: ClassVar[dict[str, str]] = {
        **_statements("?"),
        "move_head": (
            "UPDATE stream_heads SET seq = ?, hash = ? WHERE stream = ? AND seq = ? AND hash = ?"
        ),
    }

    def begin(self, streams: Sequence[str], new: Sequence[str]) -> dict[str, StreamHead]:
        self._conn.execute("BEGIN IMMEDIATE")
        heads: dict[str, StreamHead] = {}
        for stream in streams:
            for name, seq, digest in self._all("heads", (stream,)):
                heads[str(name)] = StreamHead(int(seq), str(digest))
        return heads

    def write(
        self,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> None:
        self._conn.executemany(self._sql["head_upsert"], heads)
        self._rest(boards, rows)

    def write_continuing(
        self,
        expected: StreamHead,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> bool:
        """The append of one stream without reading its head first, if it is still ``expected``:
        the head moves only from there, and anything else rolls back (False)."""
        ((stream, seq, digest),) = heads
        self._conn.execute("BEGIN IMMEDIATE")
        moved = self._conn.execute(
            self._sql["move_head"], (seq, digest, stream, expected.seq, expected.hash)
        )
        if moved.rowcount != 1:
            self._conn.execute("ROLLBACK")
            return False
        self._rest(boards, rows)
        return True

    def _rest(self, boards: Sequence[BoardWrite], rows: Sequence[EventRow]) -> None:
        conn = self._conn
        conn.executemany(self._sql["event_insert"], rows)
        for values, previous, snapshot in boards:
            if previous is None or not self._update_board(values, previous):
                conn.execute(self._sql["board"], _board_params(values, sqlite=True))
            if snapshot is not None:
                conn.execute(self._sql["snapshot"], snapshot)
        conn.execute("COMMIT")

    def _update_board(self, values: dict[str, Any], previous: Mapping[str, Any]) -> bool:
        """Set only the columns that changed; False if the row is not there (deleted).

        SQLite rewrites the entry of every index on a column a SET names, changed or not: the
        phase, disease and dose level seldom change, and their indexes stay untouched.
        """
        changed = [c for c in values if c != "subject_id" and previous.get(c) != values[c]]
        assignments = ", ".join(f"{c} = ?" for c in changed)
        sql = f"UPDATE subject_board SET {assignments} WHERE subject_id = ?"
        params = [_sqlite_value(values[c]) for c in changed]
        cursor = self._conn.execute(sql, (*params, values["subject_id"]))
        return bool(cursor.rowcount == 1)

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


class PostgresWriter(_Reads):
    """On a connection in autocommit mode, so the transaction is the explicit BEGIN ... COMMIT it
    sends: each of its two round trips is one message of several statements (client-side
    parameters; server-side ones allow a single statement per message)."""

    sqlite = False
    _sql: ClassVar[dict[str, str]] = {
        **_statements("%s"),
        "heads": (
            "SELECT stream, seq, hash FROM stream_heads WHERE stream = ANY(%s) "
            "ORDER BY stream FOR UPDATE"
        ),
        # Two first appends race here; ON CONFLICT makes the loser wait for the winner's commit
        # and then lock the winner's row. The placeholder only commits with the first events.
        "placeholder": (
            "INSERT INTO stream_heads (stream, seq, hash) VALUES (%s, 0, %s) "
            "ON CONFLICT (stream) DO NOTHING"
        ),
        "log_lock": "SELECT pg_advisory_xact_lock(%s)",
        "move_head": "SELECT store_move_head(%s, %s, %s, %s, %s)",
    }

    # The statements every append sends, prepared once per connection (``prepare``): planning
    # them again in every transaction cost the server more than running them.
    _TYPES: ClassVar[dict[str, str]] = {
        "head_upsert": "text, integer, text",
        "board": _BOARD_TYPES,
        "snapshot": "text, text, integer",
        "log_lock": "bigint",
        "event_insert": "text, integer, text, timestamptz, timestamptz, text, text, text, text",
        "move_head": "text, integer, text, integer, text",
    }
    _run: ClassVar[dict[str, str]] = {
        key: f"EXECUTE store_{key}({', '.join(['%s'] * (types.count(',') + 1))})"
        for key, types in _TYPES.items()
    }

    @classmethod
    def prepare(cls, connection: Any) -> None:
        """Prepare the append's statements on a new connection (they last as long as it)."""
        statements = []
        for key, types in cls._TYPES.items():
            body = cls._sql[key]
            for number in range(1, types.count(",") + 2):
                body = body.replace("%s", f"${number}", 1)
            statements.append(f"PREPARE store_{key} ({types}) AS {body}")
        from psycopg import ClientCursor  # here: a SQLite process need not import psycopg

        cursor = ClientCursor(connection)
        try:
            cursor.execute("; ".join(statements))
        finally:
            cursor.close()

    def _send(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Run the statements as one message; the rows of the last that returns any."""
        sql = "; ".join(statement for statement, _ in statements)
        params = tuple(value for _, values in statements for value in values)
        from psycopg import ClientCursor

        cursor = ClientCursor(self._conn)
        try:
            cursor.execute(sql, params)
            rows: list[Any] = []
            while True:
                if cursor.description is not None:
                    rows = list(cursor.fetchall())
                if not cursor.nextset():
                    return rows
        finally:
            cursor.close()

    def begin(self, streams: Sequence[str], new: Sequence[str]) -> dict[str, StreamHead]:
        statements: list[tuple[str, tuple[Any, ...]]] = [("BEGIN", ())]
        # ``new`` is sorted, as ``streams``: every append takes its locks in one order.
        statements += [(self._sql["placeholder"], (stream, GENESIS_HASH)) for stream in new]
        statements.append((self._sql["heads"], (list(streams),)))
        found = self._send(statements)
        return {str(s): StreamHead(int(seq), str(digest)) for s, seq, digest in found}

    def write(
        self,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> None:
        statements = [(self._run["head_upsert"], head) for head in heads]
        self._send([*statements, *self._rest(boards, rows)])

    def write_continuing(
        self,
        expected: StreamHead,
        heads: Sequence[tuple[str, int, str]],
        boards: Sequence[BoardWrite],
        rows: Sequence[EventRow],
    ) -> bool:
        """The whole append of one stream in one round trip, if its head is still ``expected``.

        For a batch continuing the head this process last wrote: ``store_move_head`` (migration
        0006) moves and locks the head only from exactly ``expected``, else fails the transaction
        with a serialization failure, and nothing is written (False: take the ordinary way).
        """
        ((stream, seq, digest),) = heads
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("BEGIN", ()),
            (self._run["move_head"], (stream, expected.seq, expected.hash, seq, digest)),
            *self._rest(boards, rows),
        ]
        from psycopg.errors import SerializationFailure

        try:
            self._send(statements)
        except SerializationFailure:
            self._conn.execute("ROLLBACK")
            return False
        return True

    def _rest(
        self, boards: Sequence[BoardWrite], rows: Sequence[EventRow]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        """Board rows, the log lock, the events and COMMIT: the end of every append."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for values, _, snapshot in boards:
            statements.append((self._run["board"], _board_params(values, sqlite=False)))
            if snapshot is not None:
                statements.append((self._run["snapshot"], snapshot))
        statements.append((self._run["log_lock"], (PG_LOG_LOCK,)))
        statements += [(self._run["event_insert"], row) for row in rows]
        statements.append(("COMMIT", ()))
        return statements

    def rollback(self) -> None:
        from psycopg.pq import TransactionStatus

        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            self._conn.execute("ROLLBACK")
