"""SUSAR decisions on the subject: identification when an AE is recorded or updated, the
reports per recipient, the overdue marks, their fold and their clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain import commands as c
from domain import events as e
from domain.errors import NotFound, ValueOutOfRange, WrongPhase
from domain.expedited import ExpeditedRules, ReportKind, category_of, is_expected, required_reports
from domain.guards import CLOCK_SKEW, deviation
from domain.protocol import Protocol
from domain.state import AdverseEvent, SubjectState, Susar, SusarReport

__all__ = ["SUSAR_DECIDERS", "SusarClock", "evolve_susar", "identify", "susar_clocks"]


def identify(ae: AdverseEvent, p: Protocol, at: datetime) -> e.SusarIdentified | None:
    """A SUSAR event when the AE newly meets the criteria, or became fatal/life-threatening."""
    rules = p.expedited
    if rules is None or not ae.serious:
        return None
    if ae.related_to_jy231 not in p.safety.dlt.related_attributions:
        return None
    if is_expected(rules, ae.term, ae.worst):
        return None
    category = category_of(ae.seriousness)
    if ae.susar is not None and (
        ae.susar.category == category or ae.susar.category == "fatal_or_life_threatening"
    ):
        return None
    listed = any(
        x.term.casefold() == ae.term.casefold() for x in rules.reference_safety_information
    )
    because = (
        f"grade {ae.worst} is above the grade the reference safety information expects"
        if listed
        else f"{ae.term} is not in the reference safety information"
    )
    return e.SusarIdentified(
        ae_id=ae.ae_id, category=category, since=at, unexpected_because=because
    )


class SusarClock(BaseModel):
    model_config = ConfigDict(frozen=True)

    ae_id: str
    recipient: str
    kind: ReportKind
    due_at: datetime


def susar_clocks(state: SubjectState, rules: ExpeditedRules) -> list[SusarClock]:
    """Every report still owed, with its due time (reported and overdue ones excluded)."""
    out: list[SusarClock] = []
    for ae in state.adverse_events:
        susar = ae.susar
        if susar is None:
            continue
        for recipient, kind, due in required_reports(rules, susar.category, susar.since):
            if susar.reported(recipient, kind) or (recipient, kind) in susar.overdue:
                continue
            out.append(SusarClock(ae_id=ae.ae_id, recipient=recipient, kind=kind, due_at=due))
    return out


def _due(
    s: SubjectState, p: Protocol, ae_id: str, recipient: str, kind: ReportKind
) -> tuple[AdverseEvent, Susar, datetime]:
    rules = p.expedited
    ae = s.adverse_event(ae_id)
    if ae is None:
        raise NotFound(f"no adverse event {ae_id!r}", field="ae_id")
    if rules is None or ae.susar is None:
        raise WrongPhase(f"adverse event {ae_id} is not a SUSAR; no expedited report is due")
    if rules.recipient(recipient) is None:
        codes = ", ".join(r.code for r in rules.recipients)
        raise ValueOutOfRange(f"recipient must be one of {codes}", field="recipient")
    due = next(
        (
            d
            for r, k, d in required_reports(rules, ae.susar.category, ae.susar.since)
            if (r, k) == (recipient, kind)
        ),
        None,
    )
    if due is None:
        what = ae.susar.category.replace("_", " ")
        raise ValueOutOfRange(f"a SUSAR of category {what} needs no {kind} report", field="kind")
    if ae.susar.reported(recipient, kind):
        raise WrongPhase(f"the {kind} report of {ae_id} to {recipient} is already recorded")
    return ae, ae.susar, due


def _report(
    s: SubjectState, cmd: c.ReportSusar, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _, susar, due = _due(s, p, cmd.ae_id, cmd.recipient, cmd.kind)
    if cmd.reported_at > now + CLOCK_SKEW:
        raise ValueOutOfRange("reported_at is in the future", field="reported_at")
    if cmd.reported_at < susar.since.replace(second=0, microsecond=0):
        raise ValueOutOfRange(
            f"reported_at is before the AE met the SUSAR criteria ({susar.since.isoformat()})",
            field="reported_at",
        )
    if cmd.kind == "follow_up" and not susar.reported(cmd.recipient, "initial"):
        raise ValueOutOfRange(
            f"send the initial report to {cmd.recipient} before its follow-up", field="kind"
        )
    return [
        e.SusarReported(
            ae_id=cmd.ae_id,
            recipient=cmd.recipient,
            kind=cmd.kind,
            reported_at=cmd.reported_at,
            reference=cmd.reference,
            late=cmd.reported_at > due,
        )
    ]


def _overdue(
    s: SubjectState, cmd: c.MarkSusarOverdue, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae, susar, due = _due(s, p, cmd.ae_id, cmd.recipient, cmd.kind)
    if (cmd.recipient, cmd.kind) in susar.overdue:
        raise WrongPhase(f"the {cmd.kind} report of {cmd.ae_id} to {cmd.recipient} is overdue")
    if now < due:
        raise WrongPhase(f"the report is due at {due.isoformat()}")
    assert p.expedited is not None
    recipient = p.expedited.recipient(cmd.recipient)
    assert recipient is not None
    return [
        e.SusarOverdue(ae_id=cmd.ae_id, recipient=cmd.recipient, kind=cmd.kind, due_at=due),
        deviation(
            s,
            "late_susar_report",
            f"SUSAR {cmd.ae_id} ({ae.term}): {cmd.kind.replace('_', '-')} report to "
            f"{recipient.name} not sent by {due.isoformat()}",
        ),
    ]


def evolve_susar(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    match p:
        case e.SusarIdentified():
            ae = s.adverse_event(p.ae_id)
            assert ae is not None
            before = ae.susar
            susar = Susar(
                category=p.category,
                since=p.since,
                reports=before.reports if before else (),
                overdue=before.overdue if before else (),
            )
            return {"adverse_events": _with(s, p.ae_id, susar)}
        case e.SusarReported():
            susar = _susar(s, p.ae_id)
            report = SusarReport(
                recipient=p.recipient,
                kind=p.kind,
                reported_at=p.reported_at,
                reference=p.reference,
                late=p.late,
            )
            updated = susar.model_copy(update={"reports": (*susar.reports, report)})
            return {"adverse_events": _with(s, p.ae_id, updated)}
        case e.SusarOverdue():
            susar = _susar(s, p.ae_id)
            overdue = (*susar.overdue, (p.recipient, p.kind))
            return {
                "adverse_events": _with(s, p.ae_id, susar.model_copy(update={"overdue": overdue}))
            }
    return None


def _susar(s: SubjectState, ae_id: str) -> Susar:
    ae = s.adverse_event(ae_id)
    assert ae is not None and ae.susar is not None
    return ae.susar


def _with(s: SubjectState, ae_id: str, susar: Susar) -> tuple[AdverseEvent, ...]:
    return tuple(
        a.model_copy(update={"susar": susar}) if a.ae_id == ae_id else a for a in s.adverse_events
    )


SUSAR_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    c.ReportSusar: _report,
    c.MarkSusarOverdue: _overdue,
}
