"""Commands: one pydantic model per thing staff (or the system's timers) can ask for."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.screening import ScreeningRecord
from domain.values import Disease, EndOutcome, Response, Route, Sex

__all__ = [
    "ApproveLymphodepletion",
    "Command",
    "CompleteVisit",
    "EndParticipation",
    "EnrollSubject",
    "ExpireScreening",
    "MissVisit",
    "OpenVisitWindow",
    "PlanLymphodepletion",
    "RecordApheresis",
    "RecordCorrection",
    "RecordInfusion",
    "RecordLymphodepletionDose",
    "RecordManufacturingFailure",
    "RecordProductRelease",
    "RecordScreening",
    "RegisterSubject",
    "RescheduleVisit",
    "SignConsent",
    "SignEligibility",
    "Submission",
    "WithdrawConsent",
    "parse_command",
]

SubjectId = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Clinical time: when it happened at the site, as stated by staff.
    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class RegisterSubject(_Command):
    type: Literal["register"] = "register"
    subject_id: SubjectId
    disease: Disease
    sex: Sex
    birth_date: date
    site_id: str = Field(default="SBH-01", min_length=1, max_length=32)


class SignConsent(_Command):
    type: Literal["sign_consent"] = "sign_consent"
    consent_version: str = Field(min_length=1, max_length=32)
    signed_on: date
    childbearing_potential: bool


class WithdrawConsent(_Command):
    type: Literal["withdraw_consent"] = "withdraw_consent"
    withdrawn_on: date
    reason: Text


class RecordScreening(_Command):
    type: Literal["record_screening"] = "record_screening"
    record: ScreeningRecord


class SignEligibility(_Command):
    type: Literal["sign_eligibility"] = "sign_eligibility"
    decision: Literal["eligible", "not_eligible"]


class EnrollSubject(_Command):
    type: Literal["enroll"] = "enroll"
    dose_level: str = Field(pattern=r"^DL[0-9]+$")
    route: Route


class RecordApheresis(_Command):
    type: Literal["record_apheresis"] = "record_apheresis"
    collected_on: date
    volume_ml: float = Field(gt=0, le=1000)


class RecordProductRelease(_Command):
    type: Literal["record_product_release"] = "record_product_release"
    lot: str = Field(min_length=1, max_length=64)
    released_on: date
    total_tu: float = Field(gt=0)


class RecordManufacturingFailure(_Command):
    type: Literal["record_manufacturing_failure"] = "record_manufacturing_failure"
    failed_on: date
    detail: Text


class PlanLymphodepletion(_Command):
    type: Literal["plan_lymphodepletion"] = "plan_lymphodepletion"
    infusion_date: date
    weight_kg: float
    height_cm: float
    egfr: float = Field(gt=0, le=200)


class ApproveLymphodepletion(_Command):
    type: Literal["approve_lymphodepletion"] = "approve_lymphodepletion"


class RecordLymphodepletionDose(_Command):
    type: Literal["record_lymphodepletion_dose"] = "record_lymphodepletion_dose"
    drug: str = Field(min_length=1, max_length=64)
    day: int = Field(ge=-30, le=0)
    mg: float = Field(gt=0)
    given_on: date


class RecordInfusion(_Command):
    type: Literal["record_infusion"] = "record_infusion"
    infused_on: date
    weight_kg: float
    tu_per_kg: float = Field(gt=0)


class RescheduleVisit(_Command):
    type: Literal["reschedule_visit"] = "reschedule_visit"
    code: str = Field(min_length=1, max_length=16)
    target: date


class CompleteVisit(_Command):
    type: Literal["complete_visit"] = "complete_visit"
    code: str = Field(min_length=1, max_length=16)
    completed_on: date
    response: Response


class MissVisit(_Command):
    """Raised by the visit-window timer when a window closes with the visit still open."""

    type: Literal["miss_visit"] = "miss_visit"
    code: str


class OpenVisitWindow(_Command):
    """Raised by the reminder timer shortly before a visit window opens."""

    type: Literal["open_visit_window"] = "open_visit_window"
    code: str


class ExpireScreening(_Command):
    """Raised by the screening-window timer."""

    type: Literal["expire_screening"] = "expire_screening"


class RecordCorrection(_Command):
    type: Literal["record_correction"] = "record_correction"
    target_seq: int = Field(ge=1)
    field: str = Field(min_length=1, max_length=64)
    new_value: Any
    reason: Text


class EndParticipation(_Command):
    type: Literal["end_participation"] = "end_participation"
    outcome: EndOutcome
    ended_on: date


Command = Annotated[
    RegisterSubject
    | SignConsent
    | WithdrawConsent
    | RecordScreening
    | SignEligibility
    | EnrollSubject
    | RecordApheresis
    | RecordProductRelease
    | RecordManufacturingFailure
    | PlanLymphodepletion
    | ApproveLymphodepletion
    | RecordLymphodepletionDose
    | RecordInfusion
    | RescheduleVisit
    | CompleteVisit
    | MissVisit
    | OpenVisitWindow
    | ExpireScreening
    | RecordCorrection
    | EndParticipation,
    Field(discriminator="type"),
]

_COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


def parse_command(raw: dict[str, Any]) -> Command:
    return _COMMAND_ADAPTER.validate_python(raw)


class Submission(BaseModel):
    """The one input of the workflow's ``submit`` update: a command and who sends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: Command
    actor: Actor
