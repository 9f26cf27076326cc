"""The domain guards a correction of a safety, infusion, plan, withdrawal or end record must
pass: the rules the original decision applied, restated for the rebuilt command.

Each guard gets the state, the command rebuilt from the corrected values, the corrected field,
the protocol and the event's values (corrected), and raises ValueOutOfRange naming
``new_value`` when the original command would have been refused.
"""

from __future__ import annotations

from typing import Any

from domain import commands as c
from domain.dosing import DoseOutOfRange, ImplausibleValue, bsa_mosteller, product_dose
from domain.errors import ValueOutOfRange
from domain.protocol import Protocol
from domain.state import SubjectState

__all__ = [
    "DOSE_TOLERANCE",
    "ae_onset",
    "ae_resolution",
    "infusion_dose",
    "plan_inputs",
    "registered_disease",
]

# A recorded dose may differ from the plan by this fraction (pharmacy rounding, vial sizes);
# a corrected plan input may move the BSA the doses were computed from by no more.
DOSE_TOLERANCE = 0.10


def _refuse(message: str) -> ValueOutOfRange:
    return ValueOutOfRange(message, field="new_value")


def registered_disease(
    s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]
) -> None:
    """Screening refuses a record whose disease differs from the registered one; so does a
    correction of the registered disease that would leave them different."""
    assert isinstance(cmd, c.RegisterSubject)
    if field != "disease" or s.screening_seq is None:
        return
    screened = s.recorded.get(s.screening_seq, {}).get("record", {}).get("disease")
    if screened is not None and screened != cmd.disease:
        raise _refuse(
            f"the screening record (event {s.screening_seq}) names disease {screened}; "
            "correct the screening record's disease first, so both agree"
        )


def ae_onset(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    assert isinstance(cmd, c.RecordAdverseEvent)
    if s.consented_on is not None and cmd.onset_on < s.consented_on:
        raise _refuse("onset_on is before consent; pre-consent conditions are medical history")
    ae = s.adverse_event(values["ae_id"])
    if ae is not None and ae.resolved_on is not None and cmd.onset_on > ae.resolved_on:
        raise _refuse(f"onset_on is after the adverse event resolved ({ae.resolved_on})")


def ae_resolution(
    s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]
) -> None:
    assert isinstance(cmd, c.ResolveAdverseEvent)
    ae = s.adverse_event(cmd.ae_id)
    if ae is not None and cmd.resolved_on < ae.onset_on:
        raise _refuse("resolved_on is before the onset")


def infusion_dose(
    s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]
) -> None:
    """The dose level's TU/kg range, the plausible weights and the released lot's size."""
    assert isinstance(cmd, c.RecordInfusion)
    if field == "weight_kg" and p.pre_lymphodepletion is not None:
        raise _refuse(
            "the infusion weight comes from the dated weight measurement under this protocol; "
            "correct that measurement instead"
        )
    level = values.get("dose_level") or s.dose_level
    assert level is not None and cmd.weight_kg is not None
    try:
        dose = product_dose(p.dose_level(level), cmd.weight_kg, cmd.tu_per_kg)
    except (DoseOutOfRange, ImplausibleValue) as exc:
        raise _refuse(str(exc)) from exc
    if s.product_total_tu is not None and dose.total_tu > s.product_total_tu:
        raise _refuse(
            f"the dose would need {dose.total_tu:.3g} TU but the released lot holds "
            f"{s.product_total_tu:.3g} TU"
        )


def plan_inputs(s: SubjectState, cmd: Any, field: str, p: Protocol, values: dict[str, Any]) -> None:
    """A plan's doses were computed from its BSA: a corrected height or weight must be
    plausible and move the BSA by no more than the dose tolerance, or it needs a new plan."""
    assert isinstance(cmd, c.PlanLymphodepletion)
    if field == "weight_kg" and values.get("weight_measured_on") is not None:
        raise _refuse(
            f"the plan's weight comes from the measurement of {values['weight_measured_on']}; "
            "correct that measurement instead"
        )
    assert cmd.weight_kg is not None
    try:
        bsa = bsa_mosteller(cmd.weight_kg, cmd.height_cm, p.lymphodepletion.bsa_decimals)
    except ImplausibleValue as exc:
        raise _refuse(str(exc)) from exc
    planned = float(values["bsa_m2"])
    if abs(bsa - planned) > planned * DOSE_TOLERANCE:
        raise _refuse(
            f"the corrected {field} gives a BSA of {bsa:g} m² against the {planned:g} m² the "
            f"doses were computed from (more than ±{DOSE_TOLERANCE:.0%}); plan again instead"
        )
