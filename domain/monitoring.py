"""The oversight rules as ``decide``/``apply`` hooks: queries, SDV, signatures and locks.

``domain.subject`` calls ``before_decision`` (locks), merges ``MONITORING_DECIDERS``, passes
every decision's events through ``after_decision`` (signatures, SDV resets) and folds with
``evolve_monitoring`` and ``ledger_entry``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain import events as e
from domain.actors import Actor, Role
from domain.crf import form_of
from domain.locks import LOCK_DECIDERS, check_lock, evolve_lock
from domain.monitoring_state import LedgerEntry
from domain.queries import QUERY_DECIDERS, evolve_query
from domain.sdv import SDV_DECIDERS, evolve_sdv, sdv_resets
from domain.signatures import attach_signature, evolve_signature
from domain.state import SubjectState
from domain.values import Phase

__all__ = [
    "MONITORING_DECIDERS",
    "MONITORING_PHASES",
    "MONITORING_ROLES",
    "after_decision",
    "before_decision",
    "evolve_monitoring",
    "ledger_entry",
]

_STAFF = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI})
_MONITOR = frozenset({Role.MONITOR})
_PI = frozenset({Role.PI})

MONITORING_ROLES: dict[str, frozenset[Role]] = {
    # A system rule may raise a query too (an edit check), never answer or close one.
    "open_query": _MONITOR | {Role.SYSTEM},
    "answer_query": _STAFF,
    "close_query": _MONITOR,
    "reopen_query": _MONITOR,
    "verify_source": _MONITOR,
    "sign_casebook": _PI,
    "unlock_casebook": _PI,
}

_EVER = frozenset(p for p in Phase if p is not Phase.NEW)
MONITORING_PHASES: dict[str, frozenset[Phase]] = {key: _EVER for key in MONITORING_ROLES}

MONITORING_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    **QUERY_DECIDERS,
    **SDV_DECIDERS,
    **LOCK_DECIDERS,
}

_EVOLVERS = (evolve_query, evolve_sdv, evolve_signature, evolve_lock)


def before_decision(s: SubjectState, command: Any) -> None:
    check_lock(s, command)


def after_decision(
    s: SubjectState, command: Any, actor: Actor, payloads: Sequence[e.EventPayload]
) -> list[e.EventPayload]:
    return sdv_resets(s, attach_signature(s, command, actor, payloads))


def evolve_monitoring(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    for evolve in _EVOLVERS:
        changes = evolve(s, event)
        if changes is not None:
            return changes
    return None


def ledger_entry(s: SubjectState, event: e.Event) -> tuple[LedgerEntry, ...]:
    entry = LedgerEntry(
        seq=event.seq, type=event.type, form=form_of(event, s.ledger), hash=event.hash
    )
    return (*s.ledger, entry)
