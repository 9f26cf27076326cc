"""HTML forms for commands, derived from the command models so the two never drift apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.actors import Role
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.subject import ALLOWED_PHASES, ALLOWED_ROLES
from web.custody_forms import CUSTODY_FORMS
from web.errors import validation_detail
from web.form_fields import FormField, FormSpec, fields_of
from web.monitoring_forms import MONITORING_FORMS
from web.results_forms import RESULTS_FORMS
from web.safety_forms import SAFETY_FORMS

__all__ = [
    "FORM_COMMANDS",
    "FormField",
    "FormInputError",
    "FormSpec",
    "available_forms",
    "form_errors",
    "form_for",
    "parse_form",
]

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
    # Long-term follow-up and re-consent after an amendment (issue 15).
    "record_reconsent": (c.RecordReconsent, "Record re-consent"),
    "record_ltfu_consent": (c.RecordLtfuConsent, "Record LTFU consent decision"),
    "complete_ltfu_visit": (c.CompleteLtfuVisit, "Complete LTFU visit or contact"),
    "record_contact_attempt": (c.RecordContactAttempt, "Record contact attempt"),
    "record_delayed_adverse_event": (c.RecordDelayedAdverseEvent, "Record delayed AE"),
}

# Forms shown only when they can apply: a pending re-consent, a protocol with LTFU.
_SHOWN_WHEN: dict[str, Any] = {
    "record_reconsent": lambda state, protocol: state.reconsent is not None,
    "record_ltfu_consent": lambda state, protocol: protocol.ltfu is not None,
}

# Filled in by the server (clinical time = now) or fixed by the command model itself.
# ``signature`` is made by the server from the re-entered password (web/signing.py).
_IMPLICIT = frozenset({"type", "occurred_at", "signature"})


def form_for(command_type: str) -> FormSpec | None:
    if command_type in SAFETY_FORMS:
        return SAFETY_FORMS[command_type]
    if command_type in RESULTS_FORMS:
        return RESULTS_FORMS[command_type]
    if command_type in CUSTODY_FORMS:
        return CUSTODY_FORMS[command_type]
    if command_type in MONITORING_FORMS:
        return MONITORING_FORMS[command_type]
    entry = FORM_COMMANDS.get(command_type)
    if entry is None:
        return None
    model, title = entry
    fields = fields_of(model, exclude=_IMPLICIT)
    # The reason reads best last, after the facts it explains.
    fields = tuple(sorted(fields, key=lambda f: f.name == "reason"))
    return FormSpec(command_type, title, model, fields)


def available_forms(state: SubjectState, role: Role, protocol: Protocol) -> list[FormSpec]:
    """The forms this user may use for this subject right now."""
    specs = []
    for key in (*FORM_COMMANDS, *RESULTS_FORMS, *SAFETY_FORMS, *CUSTODY_FORMS, *MONITORING_FORMS):
        spec = form_for(key)
        if spec is None or key == "register":
            continue
        allowed = role in ALLOWED_ROLES[spec.type] and state.phase in ALLOWED_PHASES[spec.type]
        shown = _SHOWN_WHEN.get(key)
        if shown is not None and not shown(state, protocol):
            continue
        if allowed and (spec.applies is None or spec.applies(state, protocol)):
            specs.append(spec)
    return specs


class FormInputError(ValueError):
    """Inputs refused before the command model sees them; ``errors`` maps field to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _put(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[leaf] = value


def _aware(text: str) -> str | datetime:
    # A datetime-local input has no zone; the form labels such times UTC.
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text  # the model names the problem
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_form(
    spec: FormSpec, values: dict[str, str], uploads: dict[str, bytes], now: datetime
) -> Any:
    """Turn submitted form values into a command; raises ValidationError or FormInputError.

    A multiselect arrives comma-joined; dotted field names fill nested models.
    """
    raw: dict[str, Any] = {"type": spec.type, "occurred_at": now}
    for name, fixed in spec.fixed.items():
        # Dotted too: a nested union's tag, e.g. measurement.kind = "creatinine".
        _put(raw, name, fixed)
    missing: dict[str, str] = {}
    for field in spec.fields:
        value = values.get(field.name, "").strip()
        info = spec.model.model_fields.get(field.name)
        if field.kind == "checkbox":
            _put(raw, field.name, value in {"on", "true", "1", "yes"})
        elif field.kind == "multiselect":
            if not value and info is not None and info.default is None:
                continue  # nothing ticked on an update's optional list: left as it is
            _put(raw, field.name, [v for v in value.split(",") if v])
        elif field.kind == "json":
            text = uploads.get(field.name, b"").decode("utf-8", "replace").strip() or value
            if not text:
                if field.required:
                    missing[field.name] = "paste JSON or choose a file"
                continue
            try:
                _put(raw, field.name, json.loads(text))
            except json.JSONDecodeError as exc:
                missing[field.name] = f"not valid JSON: {exc.msg}"
        elif value == "":
            # Left out, so the model's default or "field required" applies -- unless this form
            # needs what the model leaves optional (a general AE's term and grade).
            if field.required and info is not None and not info.is_required():
                missing[field.name] = "Field required"
        elif field.kind == "datetime":
            _put(raw, field.name, _aware(value))
        else:
            _put(raw, field.name, value)
    if missing:
        raise FormInputError(missing)
    return c.parse_command(raw)


def form_errors(exc: ValidationError | FormInputError, spec: FormSpec) -> dict[str, str]:
    """Field name -> message for the template; nested fields keep their dotted path.

    An error no field of the form can show (a rule across fields) goes to the form's top.
    """
    if isinstance(exc, FormInputError):
        return dict(exc.errors)
    names = [f.name for f in spec.fields]
    # A nested union reports under its tag too: "measurement.creatinine.value".
    tags = {
        f"{name.rsplit('.', 1)[0]}.{value}": name.rsplit(".", 1)[0]
        for name, value in spec.fixed.items()
        if "." in name
    }
    errors: dict[str, str] = {}
    for item in validation_detail(list(exc.errors())):
        field = str(item["field"] or "")
        # parse_command reports locations under the discriminator tag, e.g. "enroll.route".
        parts = field.split(".")
        if parts and parts[0] in ALLOWED_ROLES:
            parts = parts[1:]
        key = ".".join(parts)
        for tagged, plain in tags.items():
            if key == tagged or key.startswith(tagged + "."):
                key = plain + key[len(tagged) :]
        key = spec.error_fields.get(key, key)
        message = str(item["msg"]).removeprefix("Value error, ")
        shown = any(key == n or key.startswith(n + ".") for n in names)
        if not shown:
            key, message = "__all__", f"{key}: {message}" if key else message
        errors.setdefault(key, message)
    return errors
