"""Corrections: a new event supersedes a recorded value; the original event is never touched."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain import commands as c
from domain import events as e
from domain.errors import NotFound, ValueOutOfRange
from domain.protocol import Protocol
from domain.state import Correction, SubjectState
from domain.values import Response, ScheduledVisit, Sex

__all__ = ["apply_correction", "decide_correction", "with_visit"]

# Which recorded values a correction may supersede: event type -> field -> validator.
_CORRECTABLE: dict[str, dict[str, TypeAdapter[Any]]] = {
    "subject.registered": {"sex": TypeAdapter(Sex), "birth_date": TypeAdapter(date)},
    "apheresis.recorded": {"volume_ml": TypeAdapter(float)},
    "lymphodepletion.dose_given": {"mg": TypeAdapter(float)},
    "visit.completed": {"response": TypeAdapter(Response), "completed_on": TypeAdapter(date)},
}


def _current_value(s: SubjectState, ref: str, field: str) -> Any:
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
    fields = _CORRECTABLE[kind]
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
    old_value = _current_value(s, ref, cmd.field)
    if new_value == old_value:
        raise ValueOutOfRange("new_value equals the current value", field="new_value")
    dump = TypeAdapter(Any).dump_python
    return [
        e.CorrectionRecorded(
            target_seq=cmd.target_seq,
            field=cmd.field,
            old_value=dump(old_value, mode="json"),
            new_value=dump(new_value, mode="json"),
        )
    ]


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
    kind, _, key = s.correctable[p.target_seq].partition(":")
    value = _CORRECTABLE[kind][p.field].validate_python(p.new_value)
    if kind == "subject.registered":
        changes[p.field] = value
    elif kind == "apheresis.recorded":
        changes["apheresis_volume_ml"] = value
    elif kind == "lymphodepletion.dose_given":
        drug, _, day = key.partition(":")
        changes["ld_doses"] = tuple(
            d.model_copy(update={"mg": value}) if (d.drug, str(d.day)) == (drug, day) else d
            for d in s.ld_doses
        )
    else:
        changes["visits"] = with_visit(s, key, **{p.field: value})
    return changes
