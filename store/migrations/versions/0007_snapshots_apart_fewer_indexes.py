"""The folded state moves to ``subject_snapshots``; five unused event indexes are dropped.

Both made every append write far more than its events (issue 13, append vs a plain recorder):

- A subject's state (~30 KB of JSON) lived in its board row. A database rewrites a row whole on
  every UPDATE, so each append, which updates the board row, wrote the state's overflow pages
  again although the state itself is stored only now and then. Apart, it is written only then.
- ``events`` had indexes on type, occurred_at, recorded_at, actor_id and hash that no query of
  the store uses (reads go by stream and seq or by log index): each was one more B-tree written
  per event. Verification still compares every one of those columns with its envelope.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED_INDEXES = {
    "ix_events_type": "type",
    "ix_events_occurred_at": "occurred_at",
    "ix_events_recorded_at": "recorded_at",
    "ix_events_actor_id": "actor_id",
    "ix_events_hash": "hash",
}


def upgrade() -> None:
    op.create_table(
        "subject_snapshots",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("state_seq", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO subject_snapshots (subject_id, state, state_seq) "
        "SELECT subject_id, state, state_seq FROM subject_board "
        "WHERE state IS NOT NULL AND state_seq > 0"
    )
    with op.batch_alter_table("subject_board") as board:
        board.drop_column("state")
        board.drop_column("state_seq")
    for name in _DROPPED_INDEXES:
        op.drop_index(name, table_name="events")


def downgrade() -> None:
    for name, column in _DROPPED_INDEXES.items():
        op.create_index(name, "events", [column])
    with op.batch_alter_table("subject_board") as board:
        board.add_column(sa.Column("state", sa.Text(), nullable=True))
        board.add_column(
            sa.Column("state_seq", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE subject_board SET state = (SELECT s.state FROM subject_snapshots s "
        "WHERE s.subject_id = subject_board.subject_id), state_seq = COALESCE((SELECT "
        "s.state_seq FROM subject_snapshots s WHERE s.subject_id = subject_board.subject_id), 0)"
    )
    op.drop_table("subject_snapshots")
