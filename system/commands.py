"""What became of a command: applied, refused (why) or still pending, by its command id.

The gateway notes every command it sends; the store is the lasting record of applied ones (each
event's envelope names its command id) and of refused ones (a table of its own: a refusal is no
clinical event), so a command answered before this process restarted, or through another web
process, is still found.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict

from store.base import EventStore
from store.refusals import Refusal

__all__ = [
    "CommandLedger",
    "CommandPending",
    "CommandStatus",
    "DependencyUnavailable",
    "keep_refusal",
    "refused_status",
]

log = structlog.get_logger(__name__)

# Bounded: a web process remembers its recent commands, the store remembers the applied ones.
LEDGER_SIZE = 10_000


class CommandStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    command_id: str
    status: Literal["pending", "applied", "refused"]
    subject_id: str | None = None
    command_type: str | None = None
    # The seqs of the events the command recorded, when applied.
    seqs: tuple[int, ...] = ()
    # Why it was refused: the domain's code, field and message.
    code: str | None = None
    field: str | None = None
    message: str | None = None


class CommandPending(Exception):
    """The command was handed to its workflow but its answer did not come in the bounded wait."""

    def __init__(self, status: CommandStatus, waited_s: float | None) -> None:
        self.status = status
        self.waited_s = waited_s
        after = f" after {waited_s:g} s" if waited_s is not None else ""
        super().__init__(
            f"command {status.command_id} is accepted and still pending{after}; "
            f"ask GET /api/commands/{status.command_id} or send it again with the same id"
        )


class DependencyUnavailable(Exception):
    """A service the request needs (Temporal, the worker, the event store) does not answer."""

    def __init__(self, dependency: str, detail: str, retry_after_s: int = 5) -> None:
        self.dependency = dependency
        self.detail = detail
        self.retry_after_s = retry_after_s
        super().__init__(f"{dependency} is unavailable: {detail}")


class CommandLedger:
    """The recent commands this process sent, newest last, bounded."""

    def __init__(self, size: int = LEDGER_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[str, CommandStatus] = OrderedDict()

    def note(self, status: CommandStatus) -> None:
        self._entries.pop(status.command_id, None)
        self._entries[status.command_id] = status
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def get(self, command_id: str) -> CommandStatus | None:
        return self._entries.get(command_id)


async def keep_refusal(store: EventStore | None, status: CommandStatus) -> None:
    """Stores a refused status for look-ups after a restart.

    Never raises: the refusal itself was answered; a store that cannot take the note (down,
    or a store without the table) loses only the later look-up, which then says unknown."""
    if store is None or status.subject_id is None:
        return
    refusal = Refusal(
        command_id=status.command_id,
        subject_id=status.subject_id,
        command_type=status.command_type,
        code=status.code or "refused",
        field=status.field,
        message=status.message or "",
        refused_at=datetime.now(UTC),
    )
    try:
        await asyncio.to_thread(store.record_refusal, refusal)
    except Exception as exc:  # any store failure: the answer to the client already stands
        log.warning("refusal not stored", command_id=status.command_id, error=type(exc).__name__)


def refused_status(refusal: Refusal) -> CommandStatus:
    return CommandStatus(
        command_id=refusal.command_id,
        status="refused",
        subject_id=refusal.subject_id,
        command_type=refusal.command_type,
        code=refusal.code,
        field=refusal.field,
        message=refusal.message,
    )
