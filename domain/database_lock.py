"""The study-wide database lock: signed by the PI with a reason, recorded on the study stream;
after it nothing but audit reads is possible until an unlock, itself recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from domain import events as e
from domain import monitoring_events as me
from domain.errors import MissingPrerequisite, WrongPhase
from domain.inputs import InputModel
from domain.monitoring_commands import SignatureAttestation
from domain.protocol import Protocol

if TYPE_CHECKING:
    from domain.study import StudyState

__all__ = [
    "DB_LOCK_DECIDERS",
    "LockDatabase",
    "UnlockDatabase",
    "check_database_lock",
    "evolve_database",
]


class _Command(InputModel):
    # Finite numbers and printable text only (InputModel).

    occurred_at: datetime
    reason: str = Field(min_length=1, max_length=2000)


class LockDatabase(_Command):
    type: Literal["lock_database"] = "lock_database"
    signature: SignatureAttestation | None = None


class UnlockDatabase(_Command):
    type: Literal["unlock_database"] = "unlock_database"


def locked_message(study_id: str) -> str:
    return (
        f"the study database ({study_id}) is locked: nothing can be recorded until the PI "
        "unlocks it"
    )


def check_database_lock(s: StudyState, command: Any) -> None:
    if s.database_locked and command.type != "unlock_database":
        raise WrongPhase(
            "the study database is locked: nothing can be recorded until it is unlocked"
        )


def _lock(s: StudyState, cmd: LockDatabase, now: datetime, p: Protocol) -> list[e.EventPayload]:
    if s.database_locked:
        raise WrongPhase("the study database is already locked")
    if cmd.signature is None:
        raise MissingPrerequisite(
            "locking the database needs an electronic signature: re-enter your password",
            field="signature",
        )
    # The lock event's hash is unknown until sealed; the signature's prev_hash binds it.
    signed = (me.SignedRef(seq=s.last_seq + 1, type="database.locked"),)
    return [
        me.DatabaseLocked(),
        me.SignatureApplied(
            signer_id=cmd.signature.signer_id,
            printed_name=cmd.signature.printed_name,
            meaning=cmd.signature.meaning,
            statement=f"study database locked: {cmd.reason}",
            signed=signed,
            components=cmd.signature.components,
        ),
    ]


def _unlock(s: StudyState, cmd: UnlockDatabase, now: datetime, p: Protocol) -> list[e.EventPayload]:
    if not s.database_locked:
        raise WrongPhase("the study database is not locked")
    return [me.DatabaseUnlocked()]


DB_LOCK_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    LockDatabase: _lock,
    UnlockDatabase: _unlock,
}


def evolve_database(s: StudyState, p: e.EventPayload) -> StudyState | None:
    if isinstance(p, me.DatabaseLocked):
        return s.model_copy(update={"database_locked": True})
    if isinstance(p, me.DatabaseUnlocked):
        return s.model_copy(update={"database_locked": False})
    if isinstance(p, me.SignatureApplied):
        return s
    return None
