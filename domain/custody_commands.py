"""Commands of the chain of identity and custody; part of the command union (domain.commands)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from domain.custody_events import CertificateOfAnalysis
from domain.inputs import InputModel

__all__ = [
    "BookSlots",
    "DecideOutOfSpec",
    "MarkCustodyOverdue",
    "RecordCustodyHandoff",
    "RecordManufactured",
    "RecordQualityRelease",
    "UploadTemperatureLog",
    "UploadedReading",
    "VerifyBedside",
]

Party = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
ScannedId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9* -]+$")]


class _Command(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).
    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class RecordCustodyHandoff(_Command):
    """A unit changes hands or state: collected, packed, shipped … stored, thawed.

    ``unit_id`` is left out only for ``collected``, which creates the next apheresis unit.
    """

    type: Literal["record_custody"] = "record_custody"
    step: Literal[
        "collected",
        "packed",
        "shipped",
        "received_at_manufacturing",
        "manufacturing_started",
        "shipped_cryopreserved",
        "received_at_site",
        "stored",
        "thawed",
    ]
    unit_id: ScannedId | None = None
    from_party: Party
    to_party: Party
    location: Party
    courier: Party | None = None
    shipper_id: Party | None = None
    volume_ml: float | None = Field(default=None, gt=0, le=1000)

    @model_validator(mode="after")
    def _fields_fit_the_step(self) -> RecordCustodyHandoff:
        if self.step == "collected":
            if self.unit_id is not None:
                raise ValueError("unit_id: a collection creates its unit; leave unit_id out")
            if self.volume_ml is None:
                raise ValueError("volume_ml: a collection needs the collected volume")
        elif self.unit_id is None:
            raise ValueError(f"unit_id: the {self.step} step needs the unit id")
        if self.step in ("shipped", "shipped_cryopreserved") and (
            self.courier is None or self.shipper_id is None
        ):
            raise ValueError("courier and shipper_id: a shipment names the courier and shipper")
        return self


class RecordManufactured(_Command):
    type: Literal["record_manufactured"] = "record_manufactured"
    unit_id: ScannedId
    lot: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    total_tu: float = Field(gt=0, allow_inf_nan=False)
    expires_on: date
    location: Party
    holder: Party


class RecordQualityRelease(_Command):
    type: Literal["record_quality_release"] = "record_quality_release"
    unit_id: ScannedId
    released_on: date
    coa: CertificateOfAnalysis


class DecideOutOfSpec(_Command):
    """The PI decides whether an out-of-specification lot may be used; the reason is required."""

    type: Literal["decide_out_of_spec"] = "decide_out_of_spec"
    unit_id: ScannedId
    decision: Literal["use", "not_use"]
    reason: str = Field(min_length=1, max_length=2000)


class UploadedReading(InputModel):
    at: AwareDatetime
    celsius: float = Field(ge=-273.15, le=100, allow_inf_nan=False)


class UploadTemperatureLog(_Command):
    type: Literal["upload_temperature_log"] = "upload_temperature_log"
    unit_id: ScannedId
    logger_id: Party
    readings: tuple[UploadedReading, ...] = Field(min_length=1, max_length=20_000)


class VerifyBedside(_Command):
    """One person's bedside check: what they scanned or typed from wristband and label."""

    type: Literal["verify_bedside"] = "verify_bedside"
    subject_id: ScannedId
    coi: ScannedId
    unit_id: ScannedId
    weight_kg: float = Field(gt=0, le=400, allow_inf_nan=False)
    tu_per_kg: float = Field(gt=0, allow_inf_nan=False)


class BookSlots(_Command):
    """Book (or move) the subject's apheresis day; the chain's other dates follow from it."""

    type: Literal["book_slots"] = "book_slots"
    apheresis_on: date


class MarkCustodyOverdue(_Command):
    """Raised by the custody timers: fresh material late to manufacturing, thawed not infused."""

    type: Literal["mark_custody_overdue"] = "mark_custody_overdue"
    unit_id: str
    timer: Literal["fresh_transit", "thaw_to_infusion"]
