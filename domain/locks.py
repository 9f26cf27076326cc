"""Casebook locks: state checked in ``decide`` like phases; sign-off locks, the PI unlocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import events as e
from domain import monitoring_commands as mc
from domain import monitoring_events as me
from domain.errors import MissingPrerequisite, WrongPhase
from domain.protocol import Protocol
from domain.signatures import signature_for, signed_refs
from domain.state import SubjectState

__all__ = ["LOCK_DECIDERS", "check_lock", "command_form", "evolve_lock", "in_scope"]

_VISIT_COMMANDS = frozenset(
    {"complete_visit", "reschedule_visit", "miss_visit", "open_visit_window"}
)


def in_scope(form: str | None, scope: str) -> bool:
    return form is not None and (scope == "casebook" or form == scope)


def command_form(s: SubjectState, command: Any) -> str | None:
    """The form a command would change, where one can be named."""
    if command.type in _VISIT_COMMANDS:
        return f"visit:{command.code}"
    if command.type in {"record_correction", "open_query"}:
        return next((x.form for x in s.ledger if x.seq == command.target_seq), None)
    if command.type in {"answer_query", "close_query", "reopen_query"}:
        return next((q.form for q in s.queries if q.query_id == command.query_id), None)
    if command.type == "verify_source":
        form: str = command.form
        return form
    return None


def check_lock(s: SubjectState, command: Any) -> None:
    """Refuse a command that would change locked data; only an unlock gets through."""
    if not s.locks or command.type == "unlock_casebook":
        return
    if "casebook" in s.locks:
        raise WrongPhase(
            f"the casebook of {s.subject_id} is signed and locked; the PI must unlock it first"
        )
    form = command_form(s, command)
    if form is not None and form in s.locks:
        raise WrongPhase(f"{form} of {s.subject_id} is signed and locked; the PI must unlock it")


def _sign(
    s: SubjectState, cmd: mc.SignCasebook, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if cmd.signature is None:
        raise MissingPrerequisite(
            "signing the casebook needs an electronic signature: re-enter your password",
            field="signature",
        )
    if cmd.scope in s.locks:
        raise WrongPhase(f"{cmd.scope} is already signed and locked", field="scope")
    seqs = [x.seq for x in s.ledger if in_scope(x.form, cmd.scope)]
    if not seqs:
        raise MissingPrerequisite(f"{cmd.scope} holds no data to sign", field="scope")
    pending = [
        q.query_id for q in s.queries if q.status != "closed" and in_scope(q.form, cmd.scope)
    ]
    if pending:
        raise MissingPrerequisite(
            f"close the queries on {cmd.scope} before signing it: {', '.join(pending)}",
            field="scope",
        )
    statement = f"{cmd.scope} signed off: the data are complete and accurate"
    return [
        signature_for(cmd.signature, statement, signed_refs(s, seqs)),
        me.CasebookLocked(scope=cmd.scope),
    ]


def _unlock(
    s: SubjectState, cmd: mc.UnlockCasebook, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if cmd.scope not in s.locks:
        locked = ", ".join(s.locks) or "nothing"
        raise WrongPhase(f"{cmd.scope} is not locked; locked: {locked}", field="scope")
    return [me.CasebookUnlocked(scope=cmd.scope)]


LOCK_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    mc.SignCasebook: _sign,
    mc.UnlockCasebook: _unlock,
}


def evolve_lock(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    if isinstance(p, me.CasebookLocked):
        return {"locks": (*s.locks, p.scope)}
    if isinstance(p, me.CasebookUnlocked):
        return {"locks": tuple(x for x in s.locks if x != p.scope)}
    return None
