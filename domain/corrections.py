"""Corrections: a new event supersedes a recorded value; the original event is never touched.

The state keeps the values of every correctable event as recorded (``SubjectState.recorded``,
corrections applied), so a correction names the old value exactly and the corrected event is
re-validated as a whole by the command that produced it (``domain/correction_rules.py``).
States folded before that map existed (a run continued from an older one) fall back to the four
fields that were correctable then.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from domain import commands as c
from domain import events as e
from domain.correction_rules import SPECS, check_corrected, verdict
from domain.errors import NotFound, ValueOutOfRange
from domain.guards import deviation
from domain.protocol import Protocol
from domain.response import baseline_activity, corrected_assessments
from domain.screening import ScreeningRecord
from domain.state import Correction, SubjectState
from domain.values import Phase, Response, ScheduledVisit, Sex
from domain.visit_completion import ASSESSED_FIELDS, rederived

__all__ = ["apply_correction", "decide_correction", "track_correctable", "with_visit"]

# "nan" and "inf" parse as floats; a correction must never store one.
_FINITE: TypeAdapter[float] = TypeAdapter(Annotated[float, Field(allow_inf_nan=False)])

# The four fields correctable before SubjectState.recorded existed: event type -> field.
_LEGACY: dict[str, dict[str, TypeAdapter[Any]]] = {
    "subject.registered": {"sex": TypeAdapter(Sex), "birth_date": TypeAdapter(date)},
    "apheresis.recorded": {"volume_ml": _FINITE},
    "lymphodepletion.dose_given": {"mg": _FINITE},
    "visit.completed": {"response": TypeAdapter(Response), "completed_on": TypeAdapter(date)},
}

# Phases in which the PI has signed the subject eligible: a correction that breaks eligibility
# then needs a deviation, not just a changed verdict.
_PAST_ELIGIBILITY = frozenset(
    {
        Phase.ELIGIBLE,
        Phase.ENROLLED,
        Phase.APHERESIS,
        Phase.AWAITING_PRODUCT,
        Phase.LYMPHODEPLETION,
        Phase.INFUSED,
        Phase.FOLLOW_UP,
    }
)
_DUMP = TypeAdapter(Any).dump_python


def _payload_values(event: e.Event) -> dict[str, Any]:
    values: dict[str, Any] = event.payload.model_dump(
        mode="json", exclude={"type", "schema_version"}
    )
    return values


def track_correctable(s: SubjectState, event: e.Event, changes: dict[str, Any]) -> dict[str, Any]:
    """Remember a correctable event's values (and its reference) as it is folded in."""
    if event.type not in SPECS:
        return {}
    correctable = changes.get("correctable", s.correctable)
    if event.seq not in correctable:
        # Safety records name their adverse event, so a correction finds it in the state.
        ae_id = getattr(event.payload, "ae_id", None)
        ref = f"{event.type}:{ae_id}" if ae_id else event.type
        correctable = {**correctable, event.seq: ref}
    return {
        "correctable": correctable,
        "recorded": {**s.recorded, event.seq: _payload_values(event)},
    }


def _split(kind: str, field: str) -> tuple[str, str | None]:
    """``record.hemoglobin`` -> ("record", "hemoglobin"); other fields are not nested."""
    head, _, rest = field.partition(".")
    if kind == "screening.recorded":
        if head != "record" or rest not in ScreeningRecord.model_fields:
            raise ValueOutOfRange(
                "field must name a screening value as record.<name>, e.g. record.hemoglobin",
                field="field",
            )
        return head, rest
    if rest or field not in SPECS[kind].fields:
        raise ValueOutOfRange(
            f"field must be one of {', '.join(SPECS[kind].fields)} for a {kind} event",
            field="field",
        )
    return field, None


def decide_correction(
    s: SubjectState, cmd: c.RecordCorrection, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ref = s.correctable.get(cmd.target_seq)
    if ref is None:
        raise NotFound(
            f"event {cmd.target_seq} holds no correctable value; correctable events: "
            + (", ".join(f"{k} ({v})" for k, v in sorted(s.correctable.items())) or "none"),
            field="target_seq",
        )
    kind = ref.partition(":")[0]
    recorded = s.recorded.get(cmd.target_seq)
    if recorded is None:
        return _decide_legacy(s, cmd, ref)
    field, nested = _split(kind, cmd.field)
    values = copy.deepcopy(recorded)
    if nested is None:
        old_value = values.get(field)
        values[field] = cmd.new_value
    else:
        old_value = values[field].get(nested)
        values[field][nested] = cmd.new_value
    command = check_corrected(SPECS[kind], values, field, cmd.occurred_at, s, now, p)
    dumped = command.model_dump(mode="json")
    new_value = dumped[field] if nested is None else dumped[field].get(nested)
    if new_value == old_value:
        raise ValueOutOfRange("new_value equals the current value", field="new_value")
    out: list[e.EventPayload] = []
    eligible: bool | None = None
    if kind == "screening.recorded" and cmd.target_seq == s.screening_seq:
        eligible, unmet = verdict(command, p)
        if eligible is not s.screening_eligible:
            if not eligible and s.phase in _PAST_ELIGIBILITY:
                out.append(
                    deviation(
                        s,
                        "eligibility_not_met",
                        f"corrected {cmd.field} ({old_value!r} -> {new_value!r}) no longer meets "
                        f"eligibility ({', '.join(unmet)}); the subject was signed eligible",
                    )
                )
        else:
            eligible = None
    responses = None
    if kind == "visit.completed":
        assert isinstance(command, c.CompleteVisit)
        responses = rederived(s, command, field, p)
    correction = e.CorrectionRecorded(
        target_seq=cmd.target_seq,
        field=cmd.field,
        old_value=old_value,
        new_value=new_value,
        eligible=eligible,
        responses=responses,
    )
    return [correction, *out]


def _decide_legacy(s: SubjectState, cmd: c.RecordCorrection, ref: str) -> list[e.EventPayload]:
    kind = ref.partition(":")[0]
    fields = _LEGACY.get(kind, {})
    if cmd.field not in fields:
        raise ValueOutOfRange(
            f"field must be one of {', '.join(fields)} for a {kind} event", field="field"
        )
    try:
        new_value = fields[cmd.field].validate_python(cmd.new_value)
    except ValidationError as exc:
        raise ValueOutOfRange(
            f"new_value is not a valid {cmd.field}: {exc.errors()[0]['msg']}", field="new_value"
        ) from exc
    if isinstance(new_value, float) and new_value <= 0:
        raise ValueOutOfRange(f"new_value for {cmd.field} must be positive", field="new_value")
    old_value = _legacy_current(s, ref, cmd.field)
    if new_value == old_value:
        raise ValueOutOfRange("new_value equals the current value", field="new_value")
    return [
        e.CorrectionRecorded(
            target_seq=cmd.target_seq,
            field=cmd.field,
            old_value=_DUMP(old_value, mode="json"),
            new_value=_DUMP(new_value, mode="json"),
        )
    ]


def _legacy_current(s: SubjectState, ref: str, field: str) -> Any:
    kind, _, key = ref.partition(":")
    if kind == "subject.registered":
        return s.sex if field == "sex" else s.birth_date
    if kind == "apheresis.recorded":
        return s.apheresis_volume_ml
    if kind == "lymphodepletion.dose_given":
        drug, _, day = key.partition(":")
        return next(d.mg for d in s.ld_doses if (d.drug, str(d.day)) == (drug, day))
    visit = s.visit(key)
    assert visit is not None
    return visit.response if field == "response" else visit.completed_on


def with_visit(state: SubjectState, code: str, **update: Any) -> tuple[ScheduledVisit, ...]:
    return tuple(v.model_copy(update=update) if v.code == code else v for v in state.visits)


def apply_correction(s: SubjectState, event: e.Event, p: e.CorrectionRecorded) -> dict[str, Any]:
    correction = Correction(
        seq=event.seq,
        target_seq=p.target_seq,
        field=p.field,
        old_value=p.old_value,
        new_value=p.new_value,
        reason=event.reason,
    )
    changes: dict[str, Any] = {"corrections": (*s.corrections, correction)}
    ref = s.correctable[p.target_seq]
    kind, _, key = ref.partition(":")
    recorded = s.recorded.get(p.target_seq)
    if recorded is not None:
        values = copy.deepcopy(recorded)
        head, _, nested = p.field.partition(".")
        if nested:
            values[head][nested] = p.new_value
        else:
            values[head] = p.new_value
        changes["recorded"] = {**s.recorded, p.target_seq: values}
        if p.eligible is not None:
            changes["screening_eligible"] = p.eligible
        if kind == "screening.recorded":
            # Later visits' disease-specific responses compare with the corrected score.
            changes["response_baseline"] = baseline_activity(values["record"])
        if nested:
            return changes
        if kind == "visit.completed" and p.field in ASSESSED_FIELDS:
            assessments = corrected_assessments(
                s.assessments, key, p.field, p.new_value, p.responses
            )
            return {**changes, "assessments": assessments}
        if kind == "infusion.recorded":
            return {**changes, **_infusion_mirror(values)}
    if kind in _LEGACY and p.field in _LEGACY[kind]:
        value = _LEGACY[kind][p.field].validate_python(p.new_value)
    else:
        value = p.new_value
    changes.update(_mirror(s, kind, key, p.field, value))
    return changes


def _mirror(s: SubjectState, kind: str, key: str, field: str, value: Any) -> dict[str, Any]:
    """The state's own copies of a corrected value."""
    if kind == "subject.registered":
        if field == "birth_date":
            return {"birth_date": TypeAdapter(date).validate_python(value)}
        return {field: value}
    if kind == "consent.signed":
        if field == "signed_on":
            return {"consented_on": TypeAdapter(date).validate_python(value)}
        return {field: value}
    if kind == "apheresis.recorded" and field == "volume_ml":
        return {"apheresis_volume_ml": value}
    if kind == "product.released" and field in ("lot", "total_tu"):
        return {f"product_{field}": value}
    if kind == "lymphodepletion.dose_given":
        drug, _, day = key.partition(":")
        if field == "given_on":
            value = TypeAdapter(date).validate_python(value)
        return {
            "ld_doses": tuple(
                d.model_copy(update={field: value}) if (d.drug, str(d.day)) == (drug, day) else d
                for d in s.ld_doses
            )
        }
    if kind == "visit.completed":
        if field == "completed_on":
            value = TypeAdapter(date).validate_python(value)
        return {"visits": with_visit(s, key, **{field: value})}
    if kind == "participation.ended" and field == "ended_on":
        return {"ended_on": TypeAdapter(date).validate_python(value)}
    if kind == "lymphodepletion.planned" and s.ld_plan is not None:
        return {"ld_plan": s.ld_plan.model_copy(update={field: value})}
    if kind in ("ae.recorded", "ae.resolved") and field in ("term", "onset_on", "resolved_on"):
        if field != "term":
            value = TypeAdapter(date).validate_python(value)
        return {
            "adverse_events": tuple(
                a.model_copy(update={field: value}) if a.ae_id == key else a
                for a in s.adverse_events
            )
        }
    return {}


def _infusion_mirror(values: dict[str, Any]) -> dict[str, Any]:
    """The infused dose as corrected: TU/kg as recorded now, the total from weight × TU/kg."""
    total = float(values["weight_kg"]) * float(values["tu_per_kg"])
    values["total_tu"] = total
    return {"tu_per_kg": values["tu_per_kg"], "total_tu": total}
