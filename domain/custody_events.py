"""Events of the chain of identity and custody; part of the subject's stream (domain.events)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.inputs import InputModel
from domain.payload import Payload

__all__ = [
    "BedsideCheckFailed",
    "BedsideVerified",
    "CertificateOfAnalysis",
    "CoiAssigned",
    "CustodyHandoff",
    "CustodyOverdue",
    "OutOfSpecDecided",
    "ProductManufactured",
    "QualityOutOfSpec",
    "QualityReleased",
    "SlotsBooked",
    "TemperatureLogChecked",
    "TemperatureReading",
    "UnitQuarantined",
]

Negative = Literal["negative", "positive"]


class CertificateOfAnalysis(InputModel):
    """Release test results of one lot, as the manufacturer's QA certifies them (typed in by
    staff, so an input model: no non-finite numbers, no control characters)."""

    viability_pct: float
    car_positive_pct: float
    vcn_copies_per_cell: float
    sterility: Negative
    endotoxin_eu_per_ml: float
    mycoplasma: Negative
    rcl: Negative
    certificate_ref: str


class TemperatureReading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    celsius: float


class CoiAssigned(Payload):
    type: Literal["coi.assigned"] = "coi.assigned"
    coi: str
    facility_code: str
    year: int
    sequence: int


class SlotsBooked(Payload):
    """The apheresis and manufacturing slots booked for the subject (again, when rescheduled)."""

    type: Literal["custody.slots_booked"] = "custody.slots_booked"
    apheresis_on: date
    manufacturing_start_on: date
    release_on: date
    at_site_on: date
    earliest_infusion_on: date
    rescheduled: bool = False


class CustodyHandoff(Payload):
    type: Literal["custody.handoff"] = "custody.handoff"
    unit_id: str
    step: str
    from_party: str
    to_party: str
    location: str
    condition: Literal["fresh", "cryopreserved", "thawed"]
    courier: str | None = None
    shipper_id: str | None = None
    volume_ml: float | None = None


class ProductManufactured(Payload):
    type: Literal["custody.manufactured"] = "custody.manufactured"
    unit_id: str
    parent_unit_id: str
    lot: str
    total_tu: float
    expires_on: date
    location: str
    holder: str


class QualityReleased(Payload):
    type: Literal["quality.released"] = "quality.released"
    unit_id: str
    lot: str
    released_on: date
    coa: CertificateOfAnalysis


class QualityOutOfSpec(Payload):
    """Results outside the acceptance limits: the lot waits for the PI's use/not-use decision."""

    type: Literal["quality.out_of_spec"] = "quality.out_of_spec"
    unit_id: str
    lot: str
    released_on: date
    coa: CertificateOfAnalysis
    failures: tuple[str, ...]


class OutOfSpecDecided(Payload):
    """The PI's signed decision on an out-of-specification lot; the actor is the signer."""

    type: Literal["quality.oos_decided"] = "quality.oos_decided"
    unit_id: str
    decision: Literal["use", "not_use"]
    statement: str


class TemperatureLogChecked(Payload):
    type: Literal["temperature.log_checked"] = "temperature.log_checked"
    unit_id: str
    logger_id: str
    readings: int
    first_at: datetime
    last_at: datetime
    min_c: float
    max_c: float
    limit: str
    excursions: tuple[TemperatureReading, ...]


class UnitQuarantined(Payload):
    type: Literal["custody.quarantined"] = "custody.quarantined"
    unit_id: str
    cause: Literal["temperature_excursion", "thaw_time_exceeded", "not_used"]
    detail: str


class CustodyOverdue(Payload):
    type: Literal["custody.overdue"] = "custody.overdue"
    unit_id: str
    timer: Literal["fresh_transit", "thaw_to_infusion"]
    due_at: datetime


class BedsideVerified(Payload):
    """One of the two bedside verifications; ``complete`` on the second, by another person."""

    type: Literal["bedside_check.verified"] = "bedside_check.verified"
    unit_id: str
    coi: str
    verifier: str
    weight_kg: float
    tu_per_kg: float
    complete: bool


class BedsideCheckFailed(Payload):
    """A bedside identity check that did not match: recorded on purpose, it is a security fact."""

    type: Literal["bedside_check.failed"] = "bedside_check.failed"
    scanned_subject_id: str
    scanned_coi: str
    scanned_unit_id: str
    verifier: str
    problems: tuple[str, ...]
