"""Protocol amendments on a running subject, and the re-consent an amendment may bring.

A subject is pinned to the version it runs under (``SubjectState.protocol_version``; every
event's envelope names the version its decision was made under). An amendment reaches the
subject as one ``protocol.amended`` event at a safe point: visits already done or missed stay
exactly as they were, visits still ahead are scheduled again under the new version, visits the
new version adds are added when their window is still ahead, and the changes are listed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain import events as e
from domain.amendment_commands import MarkReconsentOverdue, RecordReconsent
from domain.amendment_events import (
    ProtocolAmended,
    ReconsentOverdue,
    ReconsentRecorded,
    VisitChange,
)
from domain.amendment_status import Reconsent
from domain.errors import MissingPrerequisite, ValueOutOfRange, WrongPhase
from domain.guards import deviation, not_future
from domain.protocol import Protocol, VisitDefinition
from domain.schedule import schedule_visit
from domain.site_calendar import local_midnight
from domain.state import SubjectState
from domain.values import Phase, ScheduledVisit, VisitStatus

__all__ = [
    "AMENDMENT_DECIDERS",
    "PROCEDURES",
    "amend",
    "evolve_amendment",
    "is_safe_point",
    "reconsent_deadline",
    "require_consent",
]

# Protocol procedures a pending re-consent blocks. Safety follow-up goes on: adverse events,
# SAE reports, daily monitoring, LTFU contacts and examinations, and every system timer.
PROCEDURES = frozenset(
    {
        "record_screening",
        "sign_eligibility",
        "enroll",
        "record_apheresis",
        "plan_lymphodepletion",
        "approve_lymphodepletion",
        "record_lymphodepletion_dose",
        "record_infusion",
        "complete_visit",
        "reschedule_visit",
        "record_ltfu_consent",
    }
)

# Lymphodepletion to infusion is one course of treatment under one regimen: an amendment
# waits until it is over.
_UNSAFE = frozenset({Phase.LYMPHODEPLETION})


def is_safe_point(state: SubjectState) -> bool:
    return state.phase.is_active and state.phase not in _UNSAFE


def _definitions(p: Protocol) -> tuple[VisitDefinition, ...]:
    return (*p.visits, *(p.ltfu.timepoints if p.ltfu else ()))


def _window(v: ScheduledVisit) -> tuple[date, date]:
    return (v.window_start, v.window_end)


def _rescheduled(
    state: SubjectState, new: Protocol, on: date
) -> tuple[tuple[ScheduledVisit, ...], tuple[VisitChange, ...]]:
    """The schedule under ``new`` and what changed, as of the effective day ``on``."""
    if state.infusion_date is None:
        return state.visits, ()
    infused = state.infusion_date
    defined = {d.code: d for d in _definitions(new)}
    in_ltfu = state.phase is Phase.LTFU
    ltfu_codes = {t.code for t in new.ltfu.timepoints} if new.ltfu else set()
    visits: list[ScheduledVisit] = []
    changes: list[VisitChange] = []
    for old in state.visits:
        if old.status is not VisitStatus.PLANNED:
            visits.append(old)  # done, missed or cancelled: history stays
            continue
        definition = defined.get(old.code)
        if definition is None:
            changes.append(
                VisitChange(
                    code=old.code,
                    label=old.label,
                    change="removed",
                    old_target=old.target,
                    old_window=_window(old),
                )
            )
            visits.append(old.model_copy(update={"status": VisitStatus.CANCELLED}))
            continue
        fresh = schedule_visit(infused, definition, new)
        if fresh.window_end < on or (fresh.target, _window(fresh)) == (old.target, _window(old)):
            # A window the new version would already have closed keeps the old one.
            visits.append(old)
            continue
        kind = "moved" if fresh.target != old.target else "window_changed"
        changes.append(
            VisitChange(
                code=old.code,
                label=fresh.label,
                change=kind,
                old_target=old.target,
                new_target=fresh.target,
                old_window=_window(old),
                new_window=_window(fresh),
            )
        )
        visits.append(fresh)
    known = {v.code for v in state.visits}
    for definition in _definitions(new):
        if definition.code in known:
            continue
        # LTFU timepoints join the schedule with the LTFU consent, not with the amendment.
        if definition.code in ltfu_codes and not in_ltfu:
            continue
        fresh = schedule_visit(infused, definition, new)
        if fresh.window_end < on or (definition.code in ltfu_codes and _covered(state, new, fresh)):
            continue
        changes.append(
            VisitChange(
                code=fresh.code,
                label=fresh.label,
                change="added",
                new_target=fresh.target,
                new_window=_window(fresh),
            )
        )
        visits.append(fresh)
    visits.sort(key=lambda v: (v.window_start, v.code))
    return tuple(visits), tuple(changes)


def _covered(state: SubjectState, new: Protocol, visit: ScheduledVisit) -> bool:
    point = new.ltfu.timepoint(visit.code) if new.ltfu else None
    if point is None or point.covered_by is None:
        return False
    done = state.visit(point.covered_by)
    return done is not None and done.status is VisitStatus.COMPLETED


def amend(
    state: SubjectState, old: Protocol, new: Protocol, effective_on: date, now: datetime
) -> list[e.NewEvent]:
    """The ``protocol.amended`` event moving a subject from ``old`` onto ``new``."""
    if new.amendment is None:
        raise ValueOutOfRange(
            f"protocol version {new.version} is not an amendment", field="version"
        )
    if new.version == old.version:
        raise WrongPhase(f"the subject already runs under version {new.version}")
    if not is_safe_point(state):
        raise WrongPhase(
            f"the subject is {state.phase.value.replace('_', ' ')}: the amendment waits for a "
            "safe point"
        )
    visits, changes = _rescheduled(state, new, effective_on)
    reconsent_version = reconsent_due = None
    # Consent is signed from "consented" on; a subject who has not consented yet signs the
    # new form in the ordinary way.
    if new.amendment.reconsent_required and state.consented_on is not None:
        reconsent_version = new.version
        reconsent_due = effective_on + timedelta(days=new.amendment.reconsent_due_days)
    payload = ProtocolAmended(
        from_version=old.version,
        to_version=new.version,
        number=new.amendment.number,
        effective_on=effective_on,
        summary=new.amendment.summary,
        visits=visits,
        changes=changes,
        reconsent_version=reconsent_version,
        reconsent_due_on=reconsent_due,
    )
    return [e.NewEvent(payload=payload, occurred_at=now)]


def require_consent(state: SubjectState, command_type: str) -> None:
    """Refuse a protocol procedure while a re-consent is pending."""
    pending = state.reconsent
    if pending is None or command_type not in PROCEDURES:
        return
    raise MissingPrerequisite(
        f"the subject must re-consent to consent form version {pending.consent_version} "
        f"(due {pending.due_on}) before {command_type.replace('_', ' ')}; safety follow-up "
        "continues meanwhile",
        field="consent_version",
    )


def _reconsent(
    s: SubjectState, cmd: RecordReconsent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.decided_on, now, "decided_on")
    if s.reconsent is None:
        raise MissingPrerequisite("no re-consent is pending for this subject")
    if cmd.consent_version != s.reconsent.consent_version:
        raise ValueOutOfRange(
            f"consent_version must be {s.reconsent.consent_version!r}, the form pending",
            field="consent_version",
        )
    recorded = ReconsentRecorded(
        decision=cmd.decision, consent_version=cmd.consent_version, decided_on=cmd.decided_on
    )
    if cmd.decision == "signed":
        return [recorded]
    # Declining the amended protocol ends study procedures; safety obligations outlive it.
    return [recorded, e.ParticipationEnded(outcome="withdrawn", ended_on=cmd.decided_on)]


def _overdue(
    s: SubjectState, cmd: MarkReconsentOverdue, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    pending = s.reconsent
    if pending is None or pending.overdue:
        raise WrongPhase("no re-consent is waiting to become overdue")
    if now.date() <= pending.due_on:
        raise WrongPhase(f"the re-consent is due by {pending.due_on}")
    return [
        ReconsentOverdue(consent_version=pending.consent_version, due_on=pending.due_on),
        deviation(
            s,
            "reconsent_overdue",
            f"consent form {pending.consent_version} not signed again by {pending.due_on}",
        ),
    ]


AMENDMENT_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    RecordReconsent: _reconsent,
    MarkReconsentOverdue: _overdue,
}


def reconsent_deadline(
    state: SubjectState, protocol: Protocol
) -> tuple[datetime, c.Command] | None:
    """When a pending re-consent becomes overdue: the site's midnight after its due day."""
    pending = state.reconsent
    if pending is None or pending.overdue or state.phase.is_terminal:
        return None
    due = local_midnight(pending.due_on + timedelta(days=1), protocol.calendar.timezone)
    return due, MarkReconsentOverdue(occurred_at=due)


def evolve_amendment(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    match p:
        case ProtocolAmended():
            changes: dict[str, Any] = {"protocol_version": p.to_version, "visits": p.visits}
            if p.reconsent_version is not None and p.reconsent_due_on is not None:
                changes["reconsent"] = Reconsent(
                    consent_version=p.reconsent_version, due_on=p.reconsent_due_on
                )
            return changes
        case ReconsentRecorded():
            return {"reconsent": None}
        case ReconsentOverdue():
            assert s.reconsent is not None
            return {"reconsent": s.reconsent.model_copy(update={"overdue": True})}
    return None
