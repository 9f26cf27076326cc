"""Case report forms: which form a recorded event belongs to, for queries, SDV and locks."""

from __future__ import annotations

from domain import events as e
from domain.monitoring_state import LedgerEntry

__all__ = ["FORM_LABELS", "form_label", "form_of", "payload_form"]

# Event type -> form; visit events are "visit:<code>", oversight records belong to no form.
_FORMS: dict[str, str] = {
    "subject.registered": "registration",
    "consent.signed": "consent",
    "consent.withdrawn": "consent",
    "screening.recorded": "screening",
    "screening.failed": "screening",
    "eligibility.signed": "eligibility",
    "subject.enrolled": "enrollment",
    "apheresis.recorded": "apheresis",
    "product.released": "product",
    "manufacturing.failed": "product",
    "lymphodepletion.planned": "lymphodepletion",
    "lymphodepletion.approved": "lymphodepletion",
    "lymphodepletion.dose_given": "lymphodepletion",
    "infusion.recorded": "infusion",
    "ae.recorded": "adverse_events",
    "ae.updated": "adverse_events",
    "ae.resolved": "adverse_events",
    "sae.reported": "adverse_events",
    "monitoring.recorded": "daily_monitoring",
    "participation.ended": "participation",
}

FORM_LABELS: dict[str, str] = {
    "registration": "Registration",
    "consent": "Consent",
    "screening": "Screening",
    "eligibility": "Eligibility",
    "enrollment": "Enrollment",
    "apheresis": "Apheresis",
    "product": "Product",
    "lymphodepletion": "Lymphodepletion",
    "infusion": "Infusion",
    "adverse_events": "Adverse events",
    "daily_monitoring": "Daily monitoring",
    "participation": "End of participation",
}


def form_label(form: str) -> str:
    kind, _, code = form.partition(":")
    return f"Visit {code}" if kind == "visit" else FORM_LABELS.get(form, form)


def form_of(event: e.Event, ledger: tuple[LedgerEntry, ...]) -> str | None:
    return payload_form(event.payload, ledger)


def payload_form(p: e.EventPayload, ledger: tuple[LedgerEntry, ...]) -> str | None:
    """The form an event's data belong to; a correction belongs to the form it corrects."""
    if isinstance(p, e.VisitCompleted | e.VisitMissed | e.VisitRescheduled):
        return f"visit:{p.code}"
    if isinstance(p, e.CorrectionRecorded):
        return next((entry.form for entry in ledger if entry.seq == p.target_seq), None)
    return _FORMS.get(p.type)
