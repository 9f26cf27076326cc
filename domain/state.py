"""The folded state of one subject: everything ``decide`` needs, nothing it can recompute."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.amendment_status import Reconsent
from domain.canonical import GENESIS_HASH
from domain.custody import CustodyState
from domain.events import (
    InfusionWeightConfirmed,
    LymphodepletionDoseGiven,
    LymphodepletionPlanned,
    RenalOverrideRecorded,
)
from domain.expedited import Category, ReportKind
from domain.grading import CrsComponents, IcansComponents
from domain.ltfu_status import LtfuStatus
from domain.measurements import Measurement
from domain.monitoring_state import LedgerEntry, Query, SdvMark, SignatureRecord
from domain.response import DiseaseActivity, VisitAssessment
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness
from domain.values import Disease, EndOutcome, Phase, Route, ScheduledVisit, Sex

__all__ = [
    "AdverseEvent",
    "Correction",
    "Deviation",
    "GradeChange",
    "RenalOverride",
    "SubjectState",
    "Susar",
    "SusarReport",
]


class GradeChange(BaseModel):
    """One grade an AE had, from the clinical day it was recorded (the onset for the first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grade: int
    on: date
    seq: int


class RenalOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    override: RenalOverrideRecorded


class SusarReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient: str
    kind: ReportKind
    reported_at: datetime
    reference: str
    late: bool


class Susar(BaseModel):
    """An AE that is a suspected unexpected serious adverse reaction, and its reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: Category
    # Day 0 of the clocks: when the site first knew the AE met the SUSAR criteria (or, for an
    # upgrade, that it became fatal or life-threatening).
    since: datetime
    reports: tuple[SusarReport, ...] = ()
    overdue: tuple[tuple[str, ReportKind], ...] = ()

    def reported(self, recipient: str, kind: ReportKind) -> bool:
        return any((r.recipient, r.kind) == (recipient, kind) for r in self.reports)


class AdverseEvent(BaseModel):
    """One AE as it stands now, folded from its ae.* / sae.* / dlt.flagged events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ae_id: str
    kind: AeKind
    term: str
    grade: int
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    onset_on: date
    seriousness: tuple[Seriousness, ...]
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    haematologic: bool
    outcome: AeOutcome
    resolved_on: date | None = None
    # When the AE became serious as far as the site knew; the report clock starts here.
    serious_since: datetime | None = None
    sae_reported_at: datetime | None = None
    sae_overdue: bool = False
    dlt_rule: str | None = None
    # Every grade the AE has had, and the worst of them (None in states folded before).
    grade_history: tuple[GradeChange, ...] = ()
    worst_grade: int | None = None
    susar: Susar | None = None

    @property
    def worst(self) -> int:
        """The grade DLT rules, reports and exports use: the worst the AE has reached."""
        return max(self.grade, self.worst_grade or 0)

    @property
    def serious(self) -> bool:
        return bool(self.seriousness)

    @property
    def awaiting_sae_report(self) -> bool:
        return self.serious and self.sae_reported_at is None


class Deviation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deviation_id: str
    kind: str
    detail: str
    opened_seq: int


class Correction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    target_seq: int
    field: str
    old_value: Any
    new_value: Any
    reason: str | None


class SubjectState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str = ""
    phase: Phase = Phase.NEW
    protocol_version: str = ""
    disease: Disease | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    site_id: str | None = None
    consented_on: date | None = None
    childbearing_potential: bool | None = None
    screening_seq: int | None = None
    screening_eligible: bool | None = None
    screen_fail_cause: str | None = None
    dose_level: str | None = None
    route: Route | None = None
    apheresis_count: int = 0
    apheresis_volume_ml: float | None = None
    manufacturing_failures: int = 0
    product_lot: str | None = None
    product_total_tu: float | None = None
    ld_plan: LymphodepletionPlanned | None = None
    ld_plan_seq: int | None = None
    ld_approved: bool = False
    ld_doses: tuple[LymphodepletionDoseGiven, ...] = ()
    # Dated results after screening, in the order they were recorded.
    measurements: tuple[Measurement, ...] = ()
    renal_overrides: tuple[RenalOverride, ...] = ()
    infusion_weight_confirmation: InfusionWeightConfirmed | None = None
    infusion_date: date | None = None
    tu_per_kg: float | None = None
    total_tu: float | None = None
    visits: tuple[ScheduledVisit, ...] = ()
    # The screening activity scores (the response baseline) and each visit's activity,
    # glucocorticoid dose and derived disease-specific responses (domain/response.py).
    response_baseline: DiseaseActivity | None = None
    assessments: tuple[VisitAssessment, ...] = ()
    windows_opened: tuple[str, ...] = ()
    deviations: tuple[Deviation, ...] = ()
    corrections: tuple[Correction, ...] = ()
    # seq -> event type, for events whose values a correction may supersede.
    correctable: dict[int, str] = {}
    # seq -> the values of a correctable event as recorded, later corrections applied.
    recorded: dict[int, dict[str, Any]] = {}
    outcome: EndOutcome | None = None
    ended_on: date | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()
    monitoring_recorded: tuple[int, ...] = ()
    monitoring_missed: tuple[int, ...] = ()
    dlt_outcome: str | None = None
    study_id: str | None = None
    slot_dose_level: str | None = None
    ltfu: LtfuStatus | None = None
    # A consent form this subject must sign again before further protocol procedures.
    reconsent: Reconsent | None = None
    custody: CustodyState = CustodyState()
    # Oversight (domain/monitoring.py): every event's form and hash, queries, SDV, signatures
    # and the locked scopes ("casebook" or "visit:<code>").
    ledger: tuple[LedgerEntry, ...] = ()
    queries: tuple[Query, ...] = ()
    sdv: tuple[SdvMark, ...] = ()
    signatures: tuple[SignatureRecord, ...] = ()
    locks: tuple[str, ...] = ()
    last_seq: int = 0
    last_hash: str = GENESIS_HASH

    @property
    def open_deviations(self) -> tuple[Deviation, ...]:
        return self.deviations

    def visit(self, code: str) -> ScheduledVisit | None:
        return next((v for v in self.visits if v.code == code), None)

    @property
    def next_visit(self) -> ScheduledVisit | None:
        return next((v for v in self.visits if v.status == "planned"), None)

    def adverse_event(self, ae_id: str) -> AdverseEvent | None:
        return next((a for a in self.adverse_events if a.ae_id == ae_id), None)

    @property
    def unreported_saes(self) -> tuple[AdverseEvent, ...]:
        return tuple(a for a in self.adverse_events if a.awaiting_sae_report)

    @property
    def all_visits_resolved(self) -> bool:
        return bool(self.visits) and all(v.status != "planned" for v in self.visits)
