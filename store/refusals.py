"""Refused commands by command id, kept so their status outlives the process that sent them."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, delete, insert, select

from store.engine import SQLITE_BEGIN
from store.schema import command_refusals

__all__ = ["Refusal", "find_refusal", "record_refusal"]


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True)

    command_id: str
    subject_id: str
    command_type: str | None
    code: str
    field: str | None
    message: str
    refused_at: datetime


def record_refusal(engine: Engine, refusal: Refusal) -> None:
    """Keeps the latest refusal of a command id (a retry refused again replaces the first)."""
    with engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            conn.execute(
                delete(command_refusals).where(command_refusals.c.command_id == refusal.command_id)
            )
            conn.execute(insert(command_refusals).values(**refusal.model_dump()))


def find_refusal(engine: Engine, command_id: str) -> Refusal | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(command_refusals).where(command_refusals.c.command_id == command_id)
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    refused_at = row["refused_at"]
    # SQLite hands back naive datetimes; every stored time is UTC.
    if refused_at.tzinfo is None:
        refused_at = refused_at.replace(tzinfo=UTC)
    return Refusal.model_validate({**row, "refused_at": refused_at})
