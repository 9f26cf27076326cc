"""Which stored events alert the site, and what the alert says. Pure: the workflow decides,
the notify activity only writes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import custody_events as ce
from domain import events as ev
from domain.amendment_events import ProtocolAmended, ReconsentOverdue
from domain.ltfu_events import DelayedAdverseEventRecorded, LtfuContactAttempted

__all__ = ["Notification", "alert_for"]


class Notification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Deterministic, e.g. "S-0001:sae.overdue:12": the idempotency key.
    notification_id: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=64)
    severity: Literal["info", "warning", "urgent"]
    subject_id: str
    message: str = Field(min_length=1, max_length=2000)
    # When the fact happened (the event's recorded_at), not when the alert was written.
    raised_at: datetime
    recipients: tuple[str, ...] = ("pi", "coordinator")


def alert_for(subject_id: str, event: ev.Event, *, visits: bool) -> Notification | None:
    """The alert an event raises, keyed by the event so a retry or replay cannot send twice.

    ``visits`` adds the visit reminders and missed-visit warnings, which subjects started
    before they existed do not send (their histories must replay unchanged).
    """
    p = event.payload
    found: tuple[Literal["info", "warning", "urgent"], str, tuple[str, ...]] | None = None
    match p:
        case ev.SaeOverdue():
            found = (
                "urgent",
                f"SAE {p.ae_id} of {subject_id}: expedited report overdue since "
                f"{p.due_at.isoformat()}",
                ("pi", "coordinator", "sponsor_safety"),
            )
        case ev.SusarIdentified():
            days = "7 days, follow-up by day 15" if p.category != "other" else "15 days"
            found = (
                "urgent",
                f"SUSAR {p.ae_id} of {subject_id} ({p.unexpected_because}): expedited reports "
                f"to the regulator, ethics committee and sponsor within {days} of "
                f"{p.since.isoformat()}",
                ("pi", "coordinator", "sponsor_safety"),
            )
        case ev.SusarOverdue():
            found = (
                "urgent",
                f"SUSAR {p.ae_id} of {subject_id}: {p.kind.replace('_', '-')} report to "
                f"{p.recipient.replace('_', ' ')} overdue since {p.due_at.isoformat()}",
                ("pi", "coordinator", "sponsor_safety"),
            )
        case ev.DltFlagged():
            found = ("urgent", f"DLT on {subject_id}: {p.ae_id}, {p.rule}", ("pi", "coordinator"))
        case ev.MonitoringMissed():
            found = (
                "warning",
                f"{subject_id}: no daily monitoring record for day {p.day} ({p.on})",
                ("pi", "coordinator"),
            )
        case ev.VisitWindowOpened() if visits:
            found = (
                "info",
                f"{subject_id}: visit {p.code} is due between {p.window_start} and "
                f"{p.window_end}; book it",
                ("coordinator",),
            )
        case ev.VisitMissed() if visits:
            found = (
                "warning",
                f"{subject_id}: visit {p.code} was not done by {p.window_end}; a protocol "
                "deviation is open",
                ("pi", "coordinator"),
            )
        case DelayedAdverseEventRecorded():
            found = (
                "urgent" if p.serious else "warning",
                f"{subject_id}: delayed adverse event in long-term follow-up, "
                f"{p.category.replace('_', ' ')}: {p.term} (onset {p.onset_on})",
                ("pi", "coordinator", "sponsor_safety"),
            )
        case ProtocolAmended() if p.reconsent_version is not None:
            found = (
                "warning",
                f"{subject_id}: protocol amended to version {p.to_version}; re-consent to "
                f"consent form {p.reconsent_version} due by {p.reconsent_due_on}, no protocol "
                "procedures until then",
                ("pi", "coordinator"),
            )
        case ReconsentOverdue():
            found = (
                "urgent",
                f"{subject_id}: re-consent to consent form {p.consent_version} overdue since "
                f"{p.due_on}; a protocol deviation is open",
                ("pi", "coordinator"),
            )
        case LtfuContactAttempted() if p.failed_in_a_row:
            found = (
                "warning",
                f"{subject_id}: contact attempt {p.failed_in_a_row} ({p.method}) did not reach "
                "the subject",
                ("coordinator",),
            )
    if found is None:
        found = _custody_alert(subject_id, p)
    if found is None:
        return None
    severity, message, recipients = found
    return Notification(
        notification_id=f"{subject_id}:{event.type}:{event.seq}",
        kind=event.type,
        severity=severity,
        subject_id=subject_id,
        message=message,
        raised_at=event.recorded_at,
        recipients=recipients,
    )


def _custody_alert(
    subject_id: str, p: object
) -> tuple[Literal["info", "warning", "urgent"], str, tuple[str, ...]] | None:
    """Chain-of-custody alerts; a failed bedside check is a security event for QA too."""
    match p:
        case ce.BedsideCheckFailed():
            return (
                "urgent",
                f"SECURITY {subject_id}: bedside identity check by {p.verifier} failed "
                f"(unit {p.scanned_unit_id}): " + "; ".join(p.problems),
                ("pi", "coordinator", "quality_assurance"),
            )
        case ce.UnitQuarantined():
            return (
                "urgent",
                f"{subject_id}: unit {p.unit_id} quarantined ({p.cause}): {p.detail}",
                ("pi", "coordinator", "quality_assurance"),
            )
        case ce.CustodyOverdue():
            return (
                "warning",
                f"{subject_id}: {p.timer.replace('_', ' ')} limit of unit {p.unit_id} passed at "
                f"{p.due_at.isoformat()}; a protocol deviation is open",
                ("pi", "coordinator"),
            )
        case ce.QualityOutOfSpec():
            return (
                "urgent",
                f"{subject_id}: lot {p.lot} ({p.unit_id}) is out of specification: "
                + "; ".join(p.failures)
                + ". The PI must decide use or not use.",
                ("pi", "quality_assurance"),
            )
    return None
