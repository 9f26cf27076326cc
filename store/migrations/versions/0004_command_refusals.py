"""``command_refusals``: commands the domain refused, by command id.

GET /api/commands/{id} answered "refused" only from the memory of the web process that sent the
command; after a restart the id was unknown. Refusals are not clinical events (nothing
happened), so they get their own table beside the event log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_refusals",
        sa.Column("command_id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("command_type", sa.String(64), nullable=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("field", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("command_refusals")
