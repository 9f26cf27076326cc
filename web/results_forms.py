"""Forms for the dated results before lymphodepletion and the PI's decisions resting on them.

One form per kind of result, all building ``record_measurement`` with the kind fixed, so each
asks only for what that result carries (a creatinine's unit, an eGFR's equation). The renal
override is the PI's electronic signature (web/signing.py adds the password fields).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from domain import commands as c
from domain.measurements import (
    BloodCounts,
    Creatinine,
    InfectionAssessment,
    PregnancyTest,
    ReportedEgfr,
    Weight,
)
from domain.protocol import Protocol
from domain.state import SubjectState
from web.form_fields import FormField, FormSpec, fields_of

__all__ = ["MEASUREMENT_FORMS", "RESULTS_FORMS"]

_LABELS: Mapping[str, str] = {
    "collected_on": "Collected on",
    "value": "Value",
    "unit": "Unit",
    "equation": "Equation",
    "kg": "Weight (kg)",
    "sample": "Sample",
    "result": "Result",
    "active_infection_needing_systemic_treatment": "Active infection needing systemic treatment",
    "hemoglobin_g_per_l": "Hemoglobin (g/L)",
    "platelets_10e9_per_l": "Platelets (×10⁹/L)",
    "anc_10e9_per_l": "ANC (×10⁹/L; blank if not done)",
    "factor": "Dose factor the PI takes responsibility for (at most the lowest band's)",
    "drug": "Drug",
    "reason": "Reason (documented justification)",
}

# form key -> (measurement model, title); the kind travels fixed, never typed.
MEASUREMENT_FORMS: dict[str, tuple[type[BaseModel], str]] = {
    "record_creatinine": (Creatinine, "Record creatinine"),
    "record_egfr": (ReportedEgfr, "Record reported eGFR"),
    "record_weight": (Weight, "Record weight"),
    "record_pregnancy_test": (PregnancyTest, "Record pregnancy test"),
    "record_infection_status": (InfectionAssessment, "Record infection assessment"),
    "record_blood_counts": (BloodCounts, "Record blood counts"),
}


def _explicit(field: FormField) -> FormField:
    # A checkbox left unticked would record "no active infection" by oversight: the answer is
    # chosen from a select that starts blank, and blank is refused as missing.
    if field.kind != "checkbox":
        return field
    return FormField(field.name, field.label, "select", ("false", "true"), False, "", ("No", "Yes"))


def _measurement_spec(key: str, model: type[BaseModel], title: str) -> FormSpec:
    fields = tuple(
        _explicit(f)
        for f in fields_of(
            model, prefix="measurement.", exclude=frozenset({"kind"}), labels=_LABELS
        )
    )
    kind = model.model_fields["kind"].default
    # A rule across the result's fields (a creatinine implausible for its unit) shows at the
    # value it is about.
    first_value = next(f.name for f in fields if f.name != "measurement.collected_on")
    return FormSpec(
        key,
        title,
        c.RecordMeasurement,
        fields,
        command_type="record_measurement",
        fixed={"measurement.kind": kind},
        group="results",
        applies=_pregnancy_possible if model is PregnancyTest else None,
        error_fields={"measurement": first_value},
    )


def _pregnancy_possible(state: SubjectState, protocol: Protocol) -> bool:
    return state.sex != "male" and state.childbearing_potential is not False


def _has_renal_threshold(state: SubjectState, protocol: Protocol) -> bool:
    return any(d.renal is not None for d in protocol.lymphodepletion.drugs)


def _has_weight_check(state: SubjectState, protocol: Protocol) -> bool:
    return protocol.pre_lymphodepletion is not None and state.ld_plan is not None


_OVERRIDE = FormSpec(
    "override_renal_threshold",
    "PI override of the renal threshold",
    c.OverrideRenalThreshold,
    (
        FormField("drug", _LABELS["drug"], "text", default="fludarabine"),
        FormField("factor", _LABELS["factor"], "number"),
        FormField("reason", _LABELS["reason"], "textarea"),
    ),
    group="results",
    applies=_has_renal_threshold,
)

_CONFIRM_WEIGHT = FormSpec(
    "confirm_infusion_weight",
    "PI confirmation of the infusion weight",
    c.ConfirmInfusionWeight,
    (FormField("reason", "Reason", "textarea"),),
    group="results",
    applies=_has_weight_check,
)

RESULTS_FORMS: dict[str, FormSpec] = {
    **{
        key: _measurement_spec(key, model, title)
        for key, (model, title) in MEASUREMENT_FORMS.items()
    },
    _OVERRIDE.command: _OVERRIDE,
    _CONFIRM_WEIGHT.command: _CONFIRM_WEIGHT,
}
