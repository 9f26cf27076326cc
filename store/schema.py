"""Table definitions the store queries. The migrations create exactly these (a test checks it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "VERSION_TABLE",
    "command_refusals",
    "events",
    "metadata",
    "stream_heads",
    "subject_board",
    "subject_snapshots",
]

# A store-specific name, so another component using Alembic in the same database cannot collide.
VERSION_TABLE = "store_alembic_version"

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
_Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    # Global commit order, for consumers that follow the whole store.
    Column("position", _Position, primary_key=True, autoincrement=True),
    Column("stream", String(100), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The canonical JSON exactly as hashed. TEXT, not JSONB: JSONB would rewrite numbers and key
    # order, and the chain is verified over these bytes.
    Column("envelope", Text, nullable=False),
    # The event's leaf number in the Merkle log over all events (audit/merkle.py): gapless and in
    # commit order, unlike ``position``. Nullable only because SQL can insert rows without it;
    # the store always sets it, and verify reports a row without one.
    Column("log_index", BigInteger, nullable=True),
    UniqueConstraint("stream", "seq", name="uq_events_stream_seq"),
    # Only what the store's own reads use (by stream, by log index): every index is one more
    # B-tree written by every append (migration 0007 dropped type, times, actor and hash).
    Index("ix_events_log_index", "log_index", unique=True),
)

# One row per stream, locked FOR UPDATE by an append so appends to one stream serialise.
stream_heads = Table(
    "stream_heads",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

subject_board = Table(
    "subject_board",
    metadata,
    Column("subject_id", String(100), primary_key=True),
    Column("disease", String(16), nullable=True),
    Column("phase", String(32), nullable=False),
    Column("dose_level", String(16), nullable=True),
    Column("route", String(32), nullable=True),
    Column("infusion_date", Date, nullable=True),
    Column("next_visit_code", String(32), nullable=True),
    Column("next_visit_target", Date, nullable=True),
    Column("next_visit_window_start", Date, nullable=True),
    Column("next_visit_window_end", Date, nullable=True),
    Column("open_deviations", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    # The row as shown (a store.projection.BoardRow, visit schedule included) as JSON; the columns
    # above are copies for filtering and sorting.
    Column("row_json", Text, nullable=False),
    Index("ix_subject_board_phase", "phase"),
    Index("ix_subject_board_disease", "disease"),
    Index("ix_subject_board_dose_level", "dose_level"),
)

# The subject's folded state (domain SubjectState JSON) as of event ``state_seq``: where a fold
# resumes from, rewritten every so often rather than on every append. Not a board column: a
# row is rewritten whole on every update, and the state (tens of KB, overflow pages) would be
# written again by every append with the board row.
subject_snapshots = Table(
    "subject_snapshots",
    metadata,
    Column("subject_id", String(100), primary_key=True),
    Column("state", Text, nullable=False),
    Column("state_seq", Integer, nullable=False),
)

# Commands refused by the domain, by command id: what GET /api/commands/{id} answers after the
# web process that sent them has gone. Not clinical data (nothing happened), so not events.
command_refusals = Table(
    "command_refusals",
    metadata,
    Column("command_id", String(36), primary_key=True),
    Column("subject_id", String(100), nullable=False),
    Column("command_type", String(64), nullable=True),
    Column("code", String(64), nullable=False),
    Column("field", String(200), nullable=True),
    Column("message", Text, nullable=False),
    Column("refused_at", DateTime(timezone=True), nullable=False),
)
