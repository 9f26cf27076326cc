"""Commands: one pydantic model per thing staff (or the system's timers) can ask for."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.amendment_commands import MarkReconsentOverdue, RecordReconsent
from domain.custody_commands import (
    BookSlots,
    DecideOutOfSpec,
    MarkCustodyOverdue,
    RecordCustodyHandoff,
    RecordManufactured,
    RecordQualityRelease,
    UploadTemperatureLog,
    VerifyBedside,
)
from domain.inputs import InputModel
from domain.ltfu_commands import (
    CompleteLtfuVisit,
    RecordContactAttempt,
    RecordDelayedAdverseEvent,
    RecordLtfuConsent,
)
from domain.measurements import Measurement
from domain.monitoring_commands import (
    AnswerQuery,
    CloseQuery,
    OpenQuery,
    ReopenQuery,
    SignatureAttestation,
    SignCasebook,
    UnlockCasebook,
    VerifySource,
)
from domain.response import DiseaseActivity
from domain.safety_commands import (
    AeId,
    CloseDltWindow,
    GrantStudySlot,
    MarkMonitoringMissed,
    MarkSaeOverdue,
    MarkSusarOverdue,
    RecordAdverseEvent,
    RecordDailyMonitoring,
    ReportSae,
    ReportSusar,
    ResolveAdverseEvent,
    UpdateAdverseEvent,
)
from domain.screening import ScreeningRecord
from domain.signing import Seal
from domain.values import Disease, EndOutcome, Response, Route, Sex

__all__ = [
    "AeId",
    "AnswerQuery",
    "ApproveLymphodepletion",
    "BookSlots",
    "CloseDltWindow",
    "CloseQuery",
    "Command",
    "CompleteLtfuVisit",
    "CompleteVisit",
    "ConfirmInfusionWeight",
    "DecideOutOfSpec",
    "EndParticipation",
    "EnrollSubject",
    "ExpireScreening",
    "GrantStudySlot",
    "MarkCustodyOverdue",
    "MarkMonitoringMissed",
    "MarkReconsentOverdue",
    "MarkSaeOverdue",
    "MarkSusarOverdue",
    "MissVisit",
    "OpenQuery",
    "OpenVisitWindow",
    "OverrideRenalThreshold",
    "PlanLymphodepletion",
    "RecordAdverseEvent",
    "RecordApheresis",
    "RecordContactAttempt",
    "RecordCorrection",
    "RecordCustodyHandoff",
    "RecordDailyMonitoring",
    "RecordDelayedAdverseEvent",
    "RecordInfusion",
    "RecordLtfuConsent",
    "RecordLymphodepletionDose",
    "RecordManufactured",
    "RecordManufacturingFailure",
    "RecordMeasurement",
    "RecordProductRelease",
    "RecordQualityRelease",
    "RecordReconsent",
    "RecordScreening",
    "RegisterSubject",
    "ReopenQuery",
    "ReportSae",
    "ReportSusar",
    "RescheduleVisit",
    "ResolveAdverseEvent",
    "SignCasebook",
    "SignConsent",
    "SignEligibility",
    "SignatureAttestation",
    "Submission",
    "UnlockCasebook",
    "UpdateAdverseEvent",
    "UploadTemperatureLog",
    "VerifyBedside",
    "VerifySource",
    "WithdrawConsent",
    "parse_command",
]

SubjectId = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Command(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).

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
    # Set by the web/CLI layer after the PI re-entered the password (21 CFR 11.200).
    signature: SignatureAttestation | None = None


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
    """Weight and kidney function come from dated results (``record_measurement``) when the
    protocol has a pre-lymphodepletion check; only older protocols take them typed here."""

    type: Literal["plan_lymphodepletion"] = "plan_lymphodepletion"
    infusion_date: date
    weight_kg: float | None = None
    height_cm: float
    egfr: float | None = Field(default=None, gt=0, le=200)


class RecordMeasurement(_Command):
    """A dated result: creatinine, eGFR, weight, pregnancy test, infection status, counts."""

    type: Literal["record_measurement"] = "record_measurement"
    measurement: Measurement


class OverrideRenalThreshold(_Command):
    """The PI documents giving a renally cleared drug below its do-not-give threshold."""

    type: Literal["override_renal_threshold"] = "override_renal_threshold"
    drug: str = Field(default="fludarabine", min_length=1, max_length=64)
    # The dose factor the PI takes responsibility for; at most the protocol's lowest band.
    factor: float = Field(gt=0, le=1, allow_inf_nan=False)
    reason: Text
    # Set by the web/CLI layer after the PI re-entered the password (21 CFR 11.200): the
    # override is the PI's signed, documented decision.
    signature: SignatureAttestation | None = None


class ConfirmInfusionWeight(_Command):
    """The PI confirms the infusion dose by a weight that changed beyond tolerance."""

    type: Literal["confirm_infusion_weight"] = "confirm_infusion_weight"
    reason: Text


class ApproveLymphodepletion(_Command):
    type: Literal["approve_lymphodepletion"] = "approve_lymphodepletion"
    # Set by the web/CLI layer after the PI re-entered the password (21 CFR 11.200).
    signature: SignatureAttestation | None = None


class RecordLymphodepletionDose(_Command):
    type: Literal["record_lymphodepletion_dose"] = "record_lymphodepletion_dose"
    drug: str = Field(min_length=1, max_length=64)
    day: int = Field(ge=-30, le=0)
    mg: float = Field(gt=0)
    given_on: date


class RecordInfusion(_Command):
    type: Literal["record_infusion"] = "record_infusion"
    infused_on: date
    # From the latest dated weight when the protocol has a pre-lymphodepletion check.
    weight_kg: float | None = None
    tu_per_kg: float = Field(gt=0)


class RescheduleVisit(_Command):
    type: Literal["reschedule_visit"] = "reschedule_visit"
    code: str = Field(min_length=1, max_length=16)
    target: date


class CompleteVisit(_Command):
    type: Literal["complete_visit"] = "complete_visit"
    code: str = Field(min_length=1, max_length=16)
    completed_on: date
    # The registered Cheson 2007 category: required at follow-up visits, refused at the baseline
    # visit (Day 0) when the protocol defines responses (domain/response.py).
    response: Response | None = None
    # The disease's activity measure(s) and the day's glucocorticoid dose, prednisone equivalent
    # (0 when none); required at follow-up visits when the protocol defines responses.
    activity: DiseaseActivity | None = None
    glucocorticoid_mg_per_day: float | None = Field(default=None, ge=0, le=2000)


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
    | RecordMeasurement
    | OverrideRenalThreshold
    | ConfirmInfusionWeight
    | ApproveLymphodepletion
    | RecordLymphodepletionDose
    | RecordInfusion
    | RescheduleVisit
    | CompleteVisit
    | MissVisit
    | OpenVisitWindow
    | ExpireScreening
    | RecordCorrection
    | EndParticipation
    | RecordAdverseEvent
    | UpdateAdverseEvent
    | ResolveAdverseEvent
    | ReportSae
    | MarkSaeOverdue
    | ReportSusar
    | MarkSusarOverdue
    | RecordDailyMonitoring
    | MarkMonitoringMissed
    | CloseDltWindow
    | GrantStudySlot
    | RecordLtfuConsent
    | CompleteLtfuVisit
    | RecordContactAttempt
    | RecordDelayedAdverseEvent
    | RecordReconsent
    | MarkReconsentOverdue
    | RecordCustodyHandoff
    | RecordManufactured
    | RecordQualityRelease
    | DecideOutOfSpec
    | UploadTemperatureLog
    | VerifyBedside
    | MarkCustodyOverdue
    | BookSlots
    # oversight (domain/monitoring_commands.py)
    | OpenQuery
    | AnswerQuery
    | CloseQuery
    | ReopenQuery
    | VerifySource
    | SignCasebook
    | UnlockCasebook,
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
    # The gateway's HMAC over the rest; the workflow's validator refuses a submission without
    # a valid, fresh one (domain.signing). Optional so histories from before it still replay.
    seal: Seal | None = None
    # The client's idempotency key (a UUID); None from clients and histories before it existed.
    command_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    )
