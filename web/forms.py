"""HTML forms for commands, derived from the command models so the two never drift apart."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.actors import Role
from domain.state import SubjectState
from domain.subject import ALLOWED_PHASES, ALLOWED_ROLES
from web.errors import validation_detail

__all__ = [
    "FORM_COMMANDS",
    "FormField",
    "FormSpec",
    "available_forms",
    "form_errors",
    "form_for",
    "parse_form",
]


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    kind: Literal["text", "number", "date", "select", "checkbox", "textarea", "json"]
    options: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True, slots=True)
class FormSpec:
    command: str
    title: str
    model: type[BaseModel]
    fields: tuple[FormField, ...]


# The commands staff record by hand through the dashboard, in protocol order.
FORM_COMMANDS: dict[str, tuple[type[BaseModel], str]] = {
    "register": (c.RegisterSubject, "Register subject"),
    "sign_consent": (c.SignConsent, "Sign consent"),
    "record_screening": (c.RecordScreening, "Record screening"),
    "sign_eligibility": (c.SignEligibility, "Sign eligibility"),
    "enroll": (c.EnrollSubject, "Enroll"),
    "record_apheresis": (c.RecordApheresis, "Record apheresis"),
    "record_product_release": (c.RecordProductRelease, "Record product release"),
    "record_manufacturing_failure": (c.RecordManufacturingFailure, "Manufacturing failure"),
    "plan_lymphodepletion": (c.PlanLymphodepletion, "Plan lymphodepletion"),
    "approve_lymphodepletion": (c.ApproveLymphodepletion, "Approve lymphodepletion"),
    "record_lymphodepletion_dose": (c.RecordLymphodepletionDose, "Record LD dose"),
    "record_infusion": (c.RecordInfusion, "Record infusion"),
    "complete_visit": (c.CompleteVisit, "Complete visit"),
    "reschedule_visit": (c.RescheduleVisit, "Reschedule visit"),
    "withdraw_consent": (c.WithdrawConsent, "Withdraw consent"),
    "record_correction": (c.RecordCorrection, "Record correction"),
    "end_participation": (c.EndParticipation, "End participation"),
}

# Filled in by the server (clinical time = now) or fixed by the command model itself.
_IMPLICIT = {"type", "occurred_at"}


def _field(name: str, annotation: Any, required: bool) -> FormField:
    label = name.replace("_", " ").capitalize()
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return _field(name, inner[0], required=False)
    if get_origin(annotation) is Literal:
        return FormField(name, label, "select", tuple(str(a) for a in args), required)
    if name == "reason" or name == "detail":
        return FormField(name, label, "textarea", required=required)
    if annotation is date:
        return FormField(name, label, "date", required=required)
    if annotation in (int, float):
        return FormField(name, label, "number", required=required)
    if annotation is bool:
        return FormField(name, label, "checkbox", required=False)
    if (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or annotation is Any:
        return FormField(name, label, "json", required=required)
    return FormField(name, label, "text", required=required)


def form_for(command_type: str) -> FormSpec | None:
    entry = FORM_COMMANDS.get(command_type)
    if entry is None:
        return None
    model, title = entry
    fields = tuple(
        _field(name, info.rebuild_annotation(), info.is_required())
        for name, info in model.model_fields.items()
        if name not in _IMPLICIT
    )
    # The reason reads best last, after the facts it explains.
    fields = tuple(sorted(fields, key=lambda f: f.name == "reason"))
    return FormSpec(command_type, title, model, fields)


def available_forms(state: SubjectState, role: Role) -> list[FormSpec]:
    """The forms this user may use for this subject right now."""
    specs = []
    for command_type in FORM_COMMANDS:
        if command_type == "register":
            continue
        if role in ALLOWED_ROLES[command_type] and state.phase in ALLOWED_PHASES[command_type]:
            spec = form_for(command_type)
            if spec is not None:
                specs.append(spec)
    return specs


class FormInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_form(
    spec: FormSpec, values: dict[str, str], uploads: dict[str, bytes], now: datetime
) -> Any:
    """Turn submitted form values into a command; raises ValidationError or FormInputError."""
    raw: dict[str, Any] = {"type": spec.command, "occurred_at": now}
    for field in spec.fields:
        value = values.get(field.name, "")
        if field.kind == "checkbox":
            raw[field.name] = value in {"on", "true", "1", "yes"}
            continue
        if field.kind == "json":
            text = uploads.get(field.name, b"").decode("utf-8", "replace").strip() or value.strip()
            if not text:
                if field.required:
                    raise FormInputError(field.name, "paste JSON or choose a file")
                continue
            try:
                raw[field.name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FormInputError(field.name, f"not valid JSON: {exc.msg}") from exc
            continue
        if value.strip() == "":
            # Left out, so the model's own default or "field required" applies.
            continue
        raw[field.name] = value.strip()
    return c.parse_command(raw)


def form_errors(exc: ValidationError | FormInputError) -> dict[str, str]:
    """Field name -> message for the template; nested record fields keep their dotted path."""
    if isinstance(exc, FormInputError):
        return {exc.field: exc.message}
    errors: dict[str, str] = {}
    for item in validation_detail(list(exc.errors())):
        field = str(item["field"] or "")
        # parse_command reports locations under the discriminator tag, e.g. "enroll.route".
        parts = field.split(".")
        if parts and parts[0] in FORM_COMMANDS:
            parts = parts[1:]
        key = ".".join(parts) or "__all__"
        errors.setdefault(key, str(item["msg"]))
    return errors
