"""The board stores its row as shown and the subject's state only now and then.

Until 0004 every append read the subject's whole state JSON back from ``subject_board.state``,
parsed it, folded the new events and wrote it again: the state grows with every event, so appends
to a long stream cost more and more. From 0005 the row keeps ``row_json`` (the ``BoardRow`` the
readers get) and ``state`` only as of ``state_seq``, rewritten every so often (store/projection.py,
``snapshot_due``); the appender holds folded states in memory (store/fold_cache.py).

The board is derived data: the table is created anew and every subject folded again from its
events, as 0002 did and for the same reason (the rows must match what the store itself folds).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.events import parse_event
from store.projection import board_values, fold_state

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_events = sa.table(
    "events",
    sa.column("stream", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("envelope", sa.Text),
)
_heads = sa.table("stream_heads", sa.column("stream", sa.String), sa.column("seq", sa.Integer))

_FILTER_COLUMNS = (
    "disease", "phase", "dose_level", "route", "infusion_date", "next_visit_code",
    "next_visit_target", "next_visit_window_start", "next_visit_window_end", "open_deviations",
    "last_seq", "updated_at",
)  # fmt: skip


def _columns(*, row_columns: bool) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("disease", sa.String(16), nullable=True),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("dose_level", sa.String(16), nullable=True),
        sa.Column("route", sa.String(32), nullable=True),
        sa.Column("infusion_date", sa.Date, nullable=True),
        sa.Column("next_visit_code", sa.String(32), nullable=True),
        sa.Column("next_visit_target", sa.Date, nullable=True),
        sa.Column("next_visit_window_start", sa.Date, nullable=True),
        sa.Column("next_visit_window_end", sa.Date, nullable=True),
        sa.Column("open_deviations", sa.Integer, nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    ]
    if row_columns:
        columns += [
            sa.Column("row_json", sa.Text, nullable=False),
            sa.Column("state", sa.Text, nullable=True),
            sa.Column("state_seq", sa.Integer, nullable=False, server_default="0"),
        ]
    else:
        columns.append(sa.Column("state", sa.Text, nullable=False))
    return columns


def _create_board(*, row_columns: bool) -> sa.Table:
    table = op.create_table("subject_board", *_columns(row_columns=row_columns))
    for column in ("phase", "disease", "dose_level"):
        op.create_index(f"ix_subject_board_{column}", "subject_board", [column])
    assert table is not None
    return table


def _refold(board: sa.Table, keep: Sequence[str]) -> None:
    conn = op.get_bind()
    streams = list(conn.execute(sa.select(_heads.c.stream).where(_heads.c.seq > 0)).scalars())
    for stream in streams:
        envelopes = conn.execute(
            sa.select(_events.c.envelope).where(_events.c.stream == stream).order_by(_events.c.seq)
        ).scalars()
        events = [parse_event(json.loads(text)) for text in envelopes]
        state = fold_state(events)
        if state is not None:
            values = board_values(state, events[-1].recorded_at, with_state=True)
            conn.execute(sa.insert(board).values({k: values[k] for k in keep}))


def upgrade() -> None:
    op.drop_table("subject_board")
    board = _create_board(row_columns=True)
    _refold(board, ("subject_id", *_FILTER_COLUMNS, "row_json", "state", "state_seq"))


def downgrade() -> None:
    op.drop_table("subject_board")
    board = _create_board(row_columns=False)
    _refold(board, ("subject_id", *_FILTER_COLUMNS, "state"))
