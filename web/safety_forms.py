"""Safety forms: adverse events (general, CRS, ICANS), SAE reports, daily monitoring, resolution.

CRS and ICANS forms ask for the observed components only; the grade is computed by the domain
(ASTCT 2019) and is never an input, so no one can type a grade the components contradict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from domain import commands as c
from domain.expedited import required_reports
from domain.grading import CrsComponents, IcansComponents
from domain.protocol import Protocol
from domain.state import SubjectState
from web.form_fields import FormField, FormSpec, fields_of

__all__ = ["SAFETY_FORMS", "with_recipients"]

_LABELS = {
    "max_temperature_c": "Max temperature (°C)",
    "fever_masked_by_treatment": "Fever masked by antipyretics / tocilizumab / steroids",
    "fatal": "Fatal (death due to the syndrome)",
    "ice_score": "ICE score (0–10; blank if not assessed)",
    "deep_focal_motor_weakness": "Deep focal motor weakness",
    "intracranial_pressure": "Raised intracranial pressure / cerebral oedema",
    "onset_on": "Onset date",
    "related_to_jy231": "Related to JY231",
    "related_to_lymphodepletion": "Related to lymphodepletion",
    "haematologic": "Haematologic",
    "term": "CTCAE term",
    "grade": "CTCAE v5 grade",
    "ae_id": "Adverse event",
    "reported_at": "Reported at (UTC)",
    "day": "Day after infusion",
    "recipient": "Recipient",
    "kind": "Report",
    "reference": "Reference (e.g. the report's case number)",
}

# What an update may change besides the severity; each left blank stays as it was.
_UPDATE_FACTS = ("seriousness", "related_to_jy231", "related_to_lymphodepletion", "outcome")

# What every AE carries besides its severity.
_AE_FACTS = ("onset_on", "seriousness", "related_to_jy231", "related_to_lymphodepletion")


def _ae_facts(*extra: str) -> tuple[FormField, ...]:
    return fields_of(
        c.RecordAdverseEvent, only=(*_AE_FACTS, *extra, "outcome", "reason"), labels=_LABELS
    )


def _general_ae_fields() -> tuple[FormField, ...]:
    # The model makes term and grade optional because CRS/ICANS derive them; a general AE
    # needs both, and saying so on the field beats a form-level error.
    term = FormField("term", _LABELS["term"], "text")
    grade = FormField("grade", _LABELS["grade"], "select", ("1", "2", "3", "4", "5"))
    return (term, grade, *_ae_facts("haematologic"))


def _has_unreported_sae(state: SubjectState, protocol: Protocol) -> bool:
    return bool(state.unreported_saes)


def _has_open_ae(state: SubjectState, protocol: Protocol) -> bool:
    return any(ae.resolved_on is None and ae.outcome != "fatal" for ae in state.adverse_events)


def _has_open(kind: str) -> Callable[[SubjectState, Protocol], bool]:
    def applies(state: SubjectState, protocol: Protocol) -> bool:
        return any(
            ae.kind == kind and ae.resolved_on is None and ae.outcome != "fatal"
            for ae in state.adverse_events
        )

    return applies


def _update_fields(*severity: FormField) -> tuple[FormField, ...]:
    ae_id = FormField("ae_id", _LABELS["ae_id"], "text")
    facts = fields_of(c.UpdateAdverseEvent, only=(*_UPDATE_FACTS, "reason"), labels=_LABELS)
    return (ae_id, *severity, *facts)


def _owes_susar_report(state: SubjectState, protocol: Protocol) -> bool:
    """A SUSAR report still to send to someone (an overdue one can still be sent, late)."""
    rules = protocol.expedited
    if rules is None:
        return False
    return any(
        not ae.susar.reported(recipient, kind)
        for ae in state.adverse_events
        if ae.susar is not None
        for recipient, kind, _ in required_reports(rules, ae.susar.category, ae.susar.since)
    )


def with_recipients(spec: FormSpec, protocol: Protocol) -> FormSpec:
    """The SUSAR form's recipient as a select of the protocol's recipients."""
    rules = protocol.expedited
    if spec.command != "report_susar" or rules is None:
        return spec

    def choose(field: FormField) -> FormField:
        if field.name != "recipient":
            return field
        codes = tuple(r.code for r in rules.recipients)
        labels = tuple(r.name for r in rules.recipients)
        return dataclasses.replace(field, kind="select", options=codes, option_labels=labels)

    return dataclasses.replace(spec, fields=tuple(choose(f) for f in spec.fields))


def _awaits_monitoring(state: SubjectState, protocol: Protocol) -> bool:
    # A missed day can still be recorded late, so only recorded days are done.
    days = range(1, protocol.safety.daily_monitoring_days + 1)
    return any(day not in state.monitoring_recorded for day in days)


SAFETY_FORMS: dict[str, FormSpec] = {
    spec.command: spec
    for spec in (
        FormSpec(
            "record_adverse_event",
            "Record adverse event",
            c.RecordAdverseEvent,
            _general_ae_fields(),
            fixed={"kind": "general"},
            group="safety",
        ),
        FormSpec(
            "record_crs",
            "Record CRS",
            c.RecordAdverseEvent,
            (
                *fields_of(CrsComponents, prefix="crs.", labels=_LABELS),
                *_ae_facts(),
            ),
            command_type="record_adverse_event",
            fixed={"kind": "CRS"},
            group="safety",
        ),
        FormSpec(
            "record_icans",
            "Record ICANS",
            c.RecordAdverseEvent,
            (
                *fields_of(IcansComponents, prefix="icans.", labels=_LABELS),
                *_ae_facts(),
            ),
            command_type="record_adverse_event",
            fixed={"kind": "ICANS"},
            group="safety",
        ),
        FormSpec(
            "report_sae",
            "Report SAE",
            c.ReportSae,
            fields_of(c.ReportSae, exclude=frozenset({"type", "occurred_at"}), labels=_LABELS),
            group="safety",
            applies=_has_unreported_sae,
        ),
        FormSpec(
            "resolve_adverse_event",
            "Resolve adverse event",
            c.ResolveAdverseEvent,
            fields_of(
                c.ResolveAdverseEvent, exclude=frozenset({"type", "occurred_at"}), labels=_LABELS
            ),
            group="safety",
            applies=_has_open_ae,
        ),
        FormSpec(
            "update_adverse_event",
            "Update adverse event",
            c.UpdateAdverseEvent,
            _update_fields(
                FormField("grade", "New CTCAE v5 grade", "select", ("1", "2", "3", "4", "5"), False)
            ),
            group="safety",
            applies=_has_open("general"),
        ),
        FormSpec(
            "update_crs",
            "Update CRS",
            c.UpdateAdverseEvent,
            _update_fields(*fields_of(CrsComponents, prefix="crs.", labels=_LABELS)),
            command_type="update_adverse_event",
            group="safety",
            applies=_has_open("CRS"),
        ),
        FormSpec(
            "update_icans",
            "Update ICANS",
            c.UpdateAdverseEvent,
            _update_fields(*fields_of(IcansComponents, prefix="icans.", labels=_LABELS)),
            command_type="update_adverse_event",
            group="safety",
            applies=_has_open("ICANS"),
        ),
        FormSpec(
            "report_susar",
            "Report SUSAR",
            c.ReportSusar,
            fields_of(
                c.ReportSusar,
                only=("ae_id", "recipient", "kind", "reported_at", "reference"),
                labels=_LABELS,
            ),
            group="safety",
            applies=_owes_susar_report,
        ),
        FormSpec(
            "record_daily_monitoring",
            "Record daily monitoring",
            c.RecordDailyMonitoring,
            fields_of(
                c.RecordDailyMonitoring,
                exclude=frozenset({"type", "occurred_at"}),
                labels=_LABELS,
            ),
            group="safety",
            applies=_awaits_monitoring,
        ),
    )
}
