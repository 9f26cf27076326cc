"""``store_move_head``: move a stream's head only from the head the caller expects (PostgreSQL).

An append continuing the head its own process wrote last sends its whole transaction in one
round trip instead of first locking and reading the head (store/writers.py,
``write_continuing``). This function is its guard: it moves the head from exactly the expected
(seq, hash), taking the row lock and re-checking the row as the UPDATE does, and otherwise fails
the transaction with a serialization failure, so nothing of the append is written and the
appender takes the ordinary way. SQLite appends read the head in-process and need none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOVE_HEAD = """
CREATE OR REPLACE FUNCTION store_move_head(
    p_stream text, p_seq integer, p_hash text, p_new_seq integer, p_new_hash text
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stream_heads SET seq = p_new_seq, hash = p_new_hash
    WHERE stream = p_stream AND seq = p_seq AND hash = p_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stream head is not at the expected seq'
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_MOVE_HEAD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION store_move_head(text, integer, text, integer, text)")
