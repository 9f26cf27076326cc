"""Command identity: a client-chosen id makes a retried command answer, not act, twice.

Pure: the workflow remembers recent outcomes with these helpers, the gateway fingerprints what
it sends with the same function, and a subject re-opened from its stored events rebuilds the
memory from the ``command_id`` each event's envelope records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.canonical import canonical_json, sha256_hex
from domain.events import Event

__all__ = [
    "RECENT_COMMANDS",
    "CommandId",
    "CommandOutcome",
    "fingerprint",
    "outcomes_from_events",
    "remember",
]

# A UUID in its canonical text form; clients choose it, so its shape is checked.
CommandId = Annotated[
    str,
    Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]

# How many recent commands a subject remembers (carried across continue-as-new). Retries come
# within minutes; a subject sees a few hundred commands in its whole participation.
RECENT_COMMANDS = 100


class CommandOutcome(BaseModel):
    """What a command id produced: the events it recorded, and what the command was."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: str
    # None when rebuilt from stored events, which record the id but not the request's body.
    fingerprint: str | None = None
    events: tuple[Event, ...] = ()


def fingerprint(command: BaseModel, actor: Actor) -> str:
    """Identifies the request: the same id with another body or sender is a different request.

    ``occurred_at`` is left out: a dashboard form re-posted after a timeout is stamped again by
    the server, yet it is the same clinical fact under the same id.
    """
    content = command.model_dump(mode="json", exclude={"occurred_at"})
    body: dict[str, Any] = {"command": content, "actor": actor.user_id}
    return sha256_hex(canonical_json(body))


def remember(
    recent: dict[str, CommandOutcome], outcome: CommandOutcome
) -> dict[str, CommandOutcome]:
    """The memory with ``outcome`` added, the oldest entries dropped beyond the bound."""
    merged = {k: v for k, v in recent.items() if k != outcome.command_id}
    merged[outcome.command_id] = outcome
    return dict(list(merged.items())[-RECENT_COMMANDS:])


def outcomes_from_events(events: Iterable[Event]) -> dict[str, CommandOutcome]:
    """The most recent command outcomes as the stored events record them, oldest first."""
    grouped: dict[str, list[Event]] = {}
    for event in events:
        if event.command_id is not None:
            grouped.setdefault(event.command_id, []).append(event)
    outcomes = [CommandOutcome(command_id=k, events=tuple(v)) for k, v in grouped.items()]
    return {o.command_id: o for o in outcomes[-RECENT_COMMANDS:]}
