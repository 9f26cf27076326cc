"""Safety forms: adverse events (general, CRS, ICANS), SAE reports, daily monitoring, resolution.

CRS and ICANS forms ask for the observed components only; the grade is computed by the domain
(ASTCT 2019) and is never an input, so no one can type a grade the components contradict.
"""

from __future__ import annotations

from domain import commands as c
from domain.grading import CrsComponents, IcansComponents
from domain.protocol import Protocol
from domain.state import SubjectState
from web.form_fields import FormField, FormSpec, fields_of

__all__ = ["SAFETY_FORMS"]

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
}

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
