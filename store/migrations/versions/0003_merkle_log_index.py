"""``events.log_index``: the event's gapless place in the one Merkle log over all events.

``position`` comes from a sequence: on PostgreSQL it has gaps and concurrent transactions commit
out of its order, so a tree over it would not grow append-only. ``log_index`` is assigned under a
store-wide lock in the appending transaction: 0, 1, 2, ... in commit order. Existing events are
numbered in ``position`` order (their commit order, since appends were serialised per stream and
nothing was checkpointed before this revision).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE events SET log_index = numbered.n FROM ("
        "SELECT position, ROW_NUMBER() OVER (ORDER BY position) - 1 AS n FROM events"
        ") AS numbered WHERE numbered.position = events.position"
    )
    op.create_index("ix_events_log_index", "events", ["log_index"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_events_log_index", table_name="events")
    op.drop_column("events", "log_index")
