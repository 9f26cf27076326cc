"""What became of a command: applied, refused (why) or still pending, by its command id.

The gateway notes every command it sends; the store is the lasting record of applied ones (each
event's envelope names its command id), so a command applied after this process restarted, or
through another web process, is still found.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CommandLedger",
    "CommandPending",
    "CommandStatus",
    "DependencyUnavailable",
]

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
