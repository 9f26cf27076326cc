"""The subject board's ``state`` column holds the domain SubjectState; refold existing rows.

No schema change. Rows written before this revision hold the store's own board JSON, which
the store no longer reads, so every row is folded again from the subject's events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.events import parse_event
from store.projection import board_values, fold_state

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Unlike a schema step, this uses the live fold on purpose: the board is derived data and has
# to match what the store itself would fold from the same events.
_events = sa.table(
    "events",
    sa.column("stream", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("envelope", sa.Text),
)
_heads = sa.table("stream_heads", sa.column("stream", sa.String), sa.column("seq", sa.Integer))
_board = sa.table(
    "subject_board",
    sa.column("subject_id", sa.String),
    sa.column("disease", sa.String),
    sa.column("phase", sa.String),
    sa.column("dose_level", sa.String),
    sa.column("route", sa.String),
    sa.column("infusion_date", sa.Date),
    sa.column("next_visit_code", sa.String),
    sa.column("next_visit_target", sa.Date),
    sa.column("next_visit_window_start", sa.Date),
    sa.column("next_visit_window_end", sa.Date),
    sa.column("open_deviations", sa.Integer),
    sa.column("last_seq", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("state", sa.Text),
)


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.delete(_board))
    streams = list(conn.execute(sa.select(_heads.c.stream).where(_heads.c.seq > 0)).scalars())
    for stream in streams:
        envelopes = conn.execute(
            sa.select(_events.c.envelope).where(_events.c.stream == stream).order_by(_events.c.seq)
        ).scalars()
        events = [parse_event(json.loads(text)) for text in envelopes]
        state = fold_state(events)
        if state is not None:
            values = board_values(state, events[-1].recorded_at)
            # Only the columns of this revision (0005 added others to the live board).
            conn.execute(sa.insert(_board).values({c.name: values[c.name] for c in _board.c}))


def downgrade() -> None:
    # The 0001 store reads its own board JSON; leave the rows empty rather than unreadable, and
    # let its catch-up refill each subject on the next append (or its rebuild_board, at once).
    op.execute(sa.delete(_board))
