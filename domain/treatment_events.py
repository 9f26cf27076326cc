"""Events of apheresis, manufacturing, lymphodepletion and infusion; part of the subject's stream
(``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.measurements import Measurement
from domain.payload import Payload
from domain.renal import RenalAssessment
from domain.values import Route, ScheduledVisit

__all__ = [
    "ApheresisRecorded",
    "InfusionRecorded",
    "InfusionWeightConfirmed",
    "LymphodepletionApproved",
    "LymphodepletionDoseGiven",
    "LymphodepletionPlanned",
    "ManufacturingFailed",
    "MeasurementRecorded",
    "PlannedDose",
    "ProductReleased",
    "RenalOverrideRecorded",
]


class ApheresisRecorded(Payload):
    type: Literal["apheresis.recorded"] = "apheresis.recorded"
    collected_on: date
    volume_ml: float


class ProductReleased(Payload):
    type: Literal["product.released"] = "product.released"
    lot: str
    released_on: date
    total_tu: float


class ManufacturingFailed(Payload):
    type: Literal["manufacturing.failed"] = "manufacturing.failed"
    failed_on: date
    detail: str


class PlannedDose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drug: str
    day: int
    on: date
    mg: float


class LymphodepletionPlanned(Payload):
    """Version 2 bases the plan on dated results (``renal``, ``weight_measured_on``); version 1
    carried a typed, undated ``egfr`` and is upcast on read (see ``_plan_v1_to_v2``)."""

    schema_version: int = 2
    type: Literal["lymphodepletion.planned"] = "lymphodepletion.planned"
    infusion_date: date
    weight_kg: float
    height_cm: float
    # Version 1 only: the eGFR typed at planning.
    egfr: float | None = None
    bsa_m2: float
    renal_adjusted: bool
    doses: tuple[PlannedDose, ...]
    renal: RenalAssessment | None = None
    weight_measured_on: date | None = None
    # The renally adjusted drug's factor and the rule (convention, band) that gave it.
    renal_factor: float | None = None
    renal_rule: str | None = None
    # Seq of the PI's renal override this plan relies on, if any.
    renal_override_seq: int | None = None
    # The regimen's note that it awaits the sponsor's confirmation, and the caps applied.
    sponsor_note: str | None = None
    caps_applied: tuple[str, ...] = ()


class MeasurementRecorded(Payload):
    """A dated result recorded after screening (re-checks before lymphodepletion, weights)."""

    type: Literal["measurement.recorded"] = "measurement.recorded"
    measurement: Measurement


class RenalOverrideRecorded(Payload):
    """The PI's documented decision to give a renally cleared drug below its do-not-give
    threshold; always opens a protocol deviation in the same decision."""

    type: Literal["renal.override_recorded"] = "renal.override_recorded"
    drug: str
    assessment: RenalAssessment
    threshold: float
    # The factor the PI chose, at most the protocol's lowest band factor.
    factor: float
    justification: str


class InfusionWeightConfirmed(Payload):
    """The PI confirms dosing by a weight that changed beyond tolerance since planning."""

    type: Literal["infusion.weight_confirmed"] = "infusion.weight_confirmed"
    weight_kg: float
    measured_on: date
    planning_weight_kg: float
    change_percent: float


class LymphodepletionApproved(Payload):
    type: Literal["lymphodepletion.approved"] = "lymphodepletion.approved"
    plan_seq: int


class LymphodepletionDoseGiven(Payload):
    type: Literal["lymphodepletion.dose_given"] = "lymphodepletion.dose_given"
    drug: str
    day: int
    mg: float
    given_on: date


class InfusionRecorded(Payload):
    type: Literal["infusion.recorded"] = "infusion.recorded"
    infused_on: date
    dose_level: str
    route: Route
    weight_kg: float
    tu_per_kg: float
    total_tu: float
    schedule: tuple[ScheduledVisit, ...]
