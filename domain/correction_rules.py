"""Which recorded values a correction may supersede, and the rules the new value must meet.

A corrected value is held to the rules of the command that first recorded it: the event's
values, with the one field changed, are validated again through that command's pydantic model
(ranges, finite numbers, printable text) and then through the domain guards that the original
decision applied (dates not in the future nor before the study, the dose within tolerance of
its plan, the age at consent, a visit not before the infusion). A correction may not smuggle in
what the original command would have refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.correction_guards import (
    DOSE_TOLERANCE,
    ae_onset,
    ae_resolution,
    infusion_dose,
    plan_inputs,
    registered_disease,
)
from domain.eligibility import evaluate
from domain.errors import DomainError, NotFound, ValueOutOfRange
from domain.guards import not_future
from domain.plausibility import check_plausible_dates
from domain.protocol import Protocol
from domain.response_checks import check_response
from domain.state import SubjectState
from domain.units import age_in_years
from domain.visit_completion import ASSESSED_FIELDS, check_assessment_correction

__all__ = [
    "ADDED",
    "DOSE_TOLERANCE",
    "SPECS",
    "CorrectableSpec",
    "check_corrected",
    "eligibility_relevant",
    "refusal_before_added",
    "verdict",
]

# (state, rebuilt command, corrected field, protocol, the event's values as corrected)
Guard = Callable[[SubjectState, Any, str, Protocol, dict[str, Any]], None]


def _no_guard(s: SubjectState, cmd: Any, field: str, p: Protocol, v: dict[str, Any]) -> None:
    return None


def _general_grade(raw: dict[str, Any]) -> dict[str, Any]:
    # A CRS or ICANS grade is computed from its components; the command refuses one typed in.
    return raw if raw.get("kind") == "general" else {k: v for k, v in raw.items() if k != "grade"}


@dataclass(frozen=True)
class CorrectableSpec:
    """How an event's values map back onto the command that produced them."""

    command: type[BaseModel]
    fields: tuple[str, ...]
    # Payload keys that are no command field (derived by the decision, e.g. a monitoring day's
    # calendar date); left out when the command is rebuilt.
    derived: tuple[str, ...] = ()
    guard: Guard = _no_guard
    # Payload keys the command names differently: payload key -> command field.
    renamed: dict[str, str] = field(default_factory=dict)
    # Command fields the event does not hold (kept on the envelope, e.g. a withdrawal's
    # reason), filled in so the rest of the command can be validated.
    fill: dict[str, Any] = field(default_factory=dict)
    # Last touch on the rebuilt command's values before validation.
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Dates that lie ahead by design (a planned infusion date): exempt from "not in the future".
    planned: tuple[str, ...] = ()


def _registered(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    assert isinstance(cmd, c.RegisterSubject)
    if field == "birth_date" and s.consented_on is not None:
        age = age_in_years(cmd.birth_date, s.consented_on)
        rules = p.eligibility
        if not rules.age_min <= age <= rules.age_max:
            raise ValueOutOfRange(
                f"birth_date {cmd.birth_date} makes the subject {age} at consent "
                f"({s.consented_on}); the protocol admits {rules.age_min}–{rules.age_max}",
                field="new_value",
            )
    registered_disease(s, cmd, field, p, values)


def _dose(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    assert isinstance(cmd, c.RecordLymphodepletionDose)
    plan = s.ld_plan
    planned = next(
        (d for d in (plan.doses if plan else ()) if (d.drug, d.day) == (cmd.drug, cmd.day)), None
    )
    if planned is None:
        return
    low, high = planned.mg * (1 - DOSE_TOLERANCE), planned.mg * (1 + DOSE_TOLERANCE)
    if not low <= cmd.mg <= high:
        raise ValueOutOfRange(
            f"mg must be within ±{DOSE_TOLERANCE:.0%} of the planned {planned.mg:g} mg "
            f"({low:g}–{high:g})",
            field="new_value",
        )


def _visit(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    assert isinstance(cmd, c.CompleteVisit)
    if s.infusion_date is not None and cmd.completed_on < s.infusion_date:
        raise ValueOutOfRange("completed_on is before the infusion", field="new_value")
    try:
        if field == "response":
            check_response(p.response, cmd.code, cmd.response)
        elif field in ASSESSED_FIELDS:
            check_assessment_correction(s, cmd, field, p)
    except ValueOutOfRange as exc:
        # The correction's own fields: "field" when it names nothing this visit records.
        named = "field" if exc.field == "field" else "new_value"
        raise ValueOutOfRange(exc.message, field=named) from exc


def _release(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    assert isinstance(cmd, c.RecordProductRelease)
    if s.total_tu is not None and cmd.total_tu < s.total_tu:
        raise ValueOutOfRange(
            f"total_tu {cmd.total_tu:.3g} is less than the {s.total_tu:.3g} TU already infused",
            field="new_value",
        )


SPECS: dict[str, CorrectableSpec] = {
    "subject.registered": CorrectableSpec(
        c.RegisterSubject, ("sex", "birth_date", "site_id", "disease"), guard=_registered
    ),
    "consent.signed": CorrectableSpec(c.SignConsent, ("signed_on", "childbearing_potential")),
    "apheresis.recorded": CorrectableSpec(c.RecordApheresis, ("collected_on", "volume_ml")),
    "product.released": CorrectableSpec(
        c.RecordProductRelease, ("lot", "released_on", "total_tu"), guard=_release
    ),
    "manufacturing.failed": CorrectableSpec(c.RecordManufacturingFailure, ("failed_on", "detail")),
    "lymphodepletion.dose_given": CorrectableSpec(
        c.RecordLymphodepletionDose, ("mg", "given_on"), guard=_dose
    ),
    "visit.completed": CorrectableSpec(
        c.CompleteVisit,
        ("completed_on", "response", *ASSESSED_FIELDS),
        derived=("responses",),
        guard=_visit,
    ),
    "monitoring.recorded": CorrectableSpec(
        c.RecordDailyMonitoring, ("max_temperature_c", "ice_score", "notes"), derived=("on",)
    ),
    # A screening value is corrected as "record.<name>"; eligibility is judged again.
    "screening.recorded": CorrectableSpec(
        c.RecordScreening, ("record",), derived=("eligible", "criteria")
    ),
    "consent.withdrawn": CorrectableSpec(
        c.WithdrawConsent, ("withdrawn_on",), fill={"reason": "as recorded"}
    ),
    "participation.ended": CorrectableSpec(c.EndParticipation, ("ended_on",)),
    "lymphodepletion.planned": CorrectableSpec(
        c.PlanLymphodepletion,
        ("height_cm", "weight_kg"),
        derived=(
            "bsa_m2",
            "renal_adjusted",
            "doses",
            "renal",
            "weight_measured_on",
            "renal_factor",
            "renal_rule",
            "renal_override_seq",
            "sponsor_note",
            "caps_applied",
        ),
        guard=plan_inputs,
        planned=("infusion_date",),
    ),
    "infusion.recorded": CorrectableSpec(
        c.RecordInfusion,
        ("weight_kg", "tu_per_kg"),
        derived=("dose_level", "route", "total_tu", "schedule"),
        guard=infusion_dose,
    ),
    # Grades, seriousness, attribution and outcome change through update_adverse_event, which
    # restarts the clocks they drive; a correction fixes what was mistyped.
    "ae.recorded": CorrectableSpec(
        c.RecordAdverseEvent,
        ("term", "onset_on"),
        derived=("ae_id", "aware_at"),
        guard=ae_onset,
        prepare=_general_grade,
    ),
    "ae.resolved": CorrectableSpec(c.ResolveAdverseEvent, ("resolved_on",), guard=ae_resolution),
    "sae.reported": CorrectableSpec(c.ReportSae, ("recipient", "reference"), derived=("late",)),
    "susar.reported": CorrectableSpec(c.ReportSusar, ("reference",), derived=("late",)),
}

# What became correctable after the workflows of patch "issue9-more-corrections" began: event
# type -> fields. Runs started before it refuse these corrections as they did then.
ADDED: dict[str, frozenset[str]] = {
    "subject.registered": frozenset({"disease"}),
    **{
        kind: frozenset(SPECS[kind].fields)
        for kind in (
            "consent.withdrawn",
            "participation.ended",
            "lymphodepletion.planned",
            "infusion.recorded",
            "ae.recorded",
            "ae.resolved",
            "sae.reported",
            "susar.reported",
        )
    },
}


def refusal_before_added(s: SubjectState, cmd: c.RecordCorrection) -> DomainError | None:
    """The refusal a correction got before ``ADDED`` (None: it was decided as it is now)."""
    ref = s.correctable.get(cmd.target_seq)
    kind = ref.partition(":")[0] if ref else None
    if kind not in ADDED or cmd.field not in ADDED[kind]:
        return None
    if kind == "subject.registered":
        return ValueOutOfRange(
            "field must be one of sex, birth_date, site_id for a subject.registered event",
            field="field",
        )
    return NotFound(f"event {cmd.target_seq} holds no correctable value", field="target_seq")


def check_corrected(
    spec: CorrectableSpec,
    values: dict[str, Any],
    field: str,
    occurred_at: datetime,
    s: SubjectState,
    now: datetime,
    p: Protocol,
) -> BaseModel:
    """The command rebuilt from the corrected values, validated as the original was."""
    raw = {
        spec.renamed.get(k, k): v
        for k, v in values.items()
        if k not in {"type", "schema_version", *spec.derived}
    }
    raw["type"] = spec.command.model_fields["type"].default
    raw["occurred_at"] = occurred_at
    raw = {**spec.fill, **raw}
    if spec.prepare is not None:
        raw = spec.prepare(raw)
    try:
        command = spec.command.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or field
        raise ValueOutOfRange(
            f"new_value is not valid for {where}: {first['msg']}", field="new_value"
        ) from exc
    for name, value in command:
        if name in spec.planned:
            continue
        if isinstance(value, datetime) and name != "occurred_at":
            not_future(value.date(), now, "new_value")
        elif isinstance(value, date) and not isinstance(value, datetime):
            not_future(value, now, "new_value")
    record = getattr(command, "record", None)
    if record is not None:
        not_future(record.screening_date, now, "new_value")
    try:
        check_plausible_dates(command, p)
    except ValueOutOfRange as exc:
        raise ValueOutOfRange(exc.message, field="new_value") from exc
    spec.guard(s, command, field, p, values)
    return command


def eligibility_relevant(command: BaseModel) -> bool:
    return isinstance(command, c.RecordScreening)


def verdict(command: BaseModel, p: Protocol) -> tuple[bool, list[str]]:
    """The eligibility of a corrected screening record, and the criteria it does not meet."""
    assert isinstance(command, c.RecordScreening)
    result = evaluate(command.record, p.eligibility)
    unmet = [s.criterion for s in result.summaries() if s.verdict != "met"]
    return result.eligible, unmet
