"""Initial event store: events, stream heads, subject board.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from store.schema: a migration must keep meaning what it
# meant when it was written, whatever the live schema becomes.


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("stream", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.UniqueConstraint("stream", "seq", name="uq_events_stream_seq"),
    )
    for column in ("type", "occurred_at", "recorded_at", "actor_id", "hash"):
        op.create_index(f"ix_events_{column}", "events", [column])

    op.create_table(
        "stream_heads",
        sa.Column("stream", sa.String(100), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )

    op.create_table(
        "subject_board",
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
        sa.Column("state", sa.Text, nullable=False),
    )
    for column in ("phase", "disease", "dose_level"):
        op.create_index(f"ix_subject_board_{column}", "subject_board", [column])


def downgrade() -> None:
    op.drop_table("subject_board")
    op.drop_table("stream_heads")
    op.drop_table("events")
