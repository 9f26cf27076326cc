"""Commands: one pydantic model per thing staff (or the system's timers) can ask for."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

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
from domain.grading import CrsComponents, IcansComponents
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
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness
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


# -- safety: adverse events, SAE reporting, acute monitoring, DLT window ------------------------

AeId = Annotated[str, Field(min_length=1, max_length=48)]


def _check_grade_source(
    kind: AeKind | None,
    grade: int | None,
    crs: CrsComponents | None,
    icans: IcansComponents | None,
    *,
    required: bool,
) -> None:
    """CRS and ICANS grades come from their components; other AEs carry a CTCAE grade."""
    if kind == "CRS" and (crs is None or icans is not None or grade is not None):
        raise ValueError("a CRS event carries crs components only; its grade is computed")
    if kind == "ICANS" and (icans is None or crs is not None or grade is not None):
        raise ValueError("an ICANS event carries icans components only; its grade is computed")
    if kind == "general" and (crs is not None or icans is not None):
        raise ValueError("crs/icans components belong to kind CRS or ICANS")
    if kind == "general" and required and grade is None:
        raise ValueError("a general adverse event needs a CTCAE v5 grade (1-5)")


class RecordAdverseEvent(_Command):
    """An AE as the site became aware of it; ``occurred_at`` is the time of awareness."""

    type: Literal["record_adverse_event"] = "record_adverse_event"
    kind: AeKind = "general"
    # CTCAE term; CRS and ICANS default to their own names.
    term: str | None = Field(default=None, min_length=1, max_length=200)
    grade: int | None = Field(default=None, ge=1, le=5)
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    onset_on: date
    seriousness: tuple[Seriousness, ...] = ()
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    haematologic: bool = False
    outcome: AeOutcome = "not_recovered"

    @model_validator(mode="after")
    def _grade_has_one_source(self) -> RecordAdverseEvent:
        _check_grade_source(self.kind, self.grade, self.crs, self.icans, required=True)
        if self.kind == "general" and self.term is None:
            raise ValueError("a general adverse event needs its CTCAE term")
        return self


class UpdateAdverseEvent(_Command):
    """A change in severity, seriousness, attribution or outcome; omitted fields stay."""

    type: Literal["update_adverse_event"] = "update_adverse_event"
    ae_id: AeId
    grade: int | None = Field(default=None, ge=1, le=5)
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    seriousness: tuple[Seriousness, ...] | None = None
    related_to_jy231: Relatedness | None = None
    related_to_lymphodepletion: Relatedness | None = None
    outcome: AeOutcome | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateAdverseEvent:
        if all(
            v is None
            for v in (
                self.grade,
                self.crs,
                self.icans,
                self.seriousness,
                self.related_to_jy231,
                self.related_to_lymphodepletion,
                self.outcome,
            )
        ):
            raise ValueError("an update must change at least one field")
        if sum(v is not None for v in (self.grade, self.crs, self.icans)) > 1:
            raise ValueError("give a grade, crs or icans components, not several")
        return self


class ResolveAdverseEvent(_Command):
    type: Literal["resolve_adverse_event"] = "resolve_adverse_event"
    ae_id: AeId
    resolved_on: date
    outcome: Literal["recovered", "recovered_with_sequelae"] = "recovered"


class ReportSae(_Command):
    """The expedited report of a serious AE has been sent (to sponsor, IRB and regulator)."""

    type: Literal["report_sae"] = "report_sae"
    ae_id: AeId
    reported_at: AwareDatetime
    recipient: str = Field(min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=100)


class MarkSaeOverdue(_Command):
    """Raised by the SAE-report timer when the report is not in within the protocol's hours."""

    type: Literal["mark_sae_overdue"] = "mark_sae_overdue"
    ae_id: AeId


class ReportSusar(_Command):
    """An expedited SUSAR report (initial or follow-up) sent to one recipient."""

    type: Literal["report_susar"] = "report_susar"
    ae_id: AeId
    recipient: str = Field(min_length=2, max_length=32)
    kind: Literal["initial", "follow_up"]
    reported_at: AwareDatetime
    reference: str = Field(min_length=1, max_length=100)


class MarkSusarOverdue(_Command):
    """Raised by a SUSAR clock when a recipient's report is not in by its day."""

    type: Literal["mark_susar_overdue"] = "mark_susar_overdue"
    ae_id: AeId
    recipient: str = Field(min_length=2, max_length=32)
    kind: Literal["initial", "follow_up"]


class RecordDailyMonitoring(_Command):
    type: Literal["record_daily_monitoring"] = "record_daily_monitoring"
    day: int = Field(ge=1, le=60)
    max_temperature_c: float = Field(ge=30.0, le=45.0)
    ice_score: int | None = Field(default=None, ge=0, le=10)
    notes: str | None = Field(default=None, max_length=2000)


class MarkMonitoringMissed(_Command):
    """Raised by the monitoring timer when a day after infusion ends with no record."""

    type: Literal["mark_monitoring_missed"] = "mark_monitoring_missed"
    day: int = Field(ge=1, le=60)


class CloseDltWindow(_Command):
    """Raised when the DLT window ends, or at once when participation ends inside it."""

    type: Literal["close_dlt_window"] = "close_dlt_window"


class GrantStudySlot(_Command):
    """Raised when the study workflow grants this subject a slot in its dose-level cohort."""

    type: Literal["grant_study_slot"] = "grant_study_slot"
    study_id: str = Field(min_length=1, max_length=64)
    dose_level: str = Field(pattern=r"^DL[0-9]+$")
    sentinel: bool


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
