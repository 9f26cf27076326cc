"""Domain events: frozen, typed, versioned payloads inside a hash-chained envelope."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.amendment_events import (
    ProtocolAmended,
    ProtocolAmendmentRegistered,
    ReconsentOverdue,
    ReconsentRecorded,
)
from domain.canonical import (
    GENESIS_HASH,
    JCS_SCHEME,
    UnknownHashScheme,
    canonical_text,
    hash_envelope,
)
from domain.custody_events import (
    BedsideCheckFailed,
    BedsideVerified,
    CoiAssigned,
    CustodyHandoff,
    CustodyOverdue,
    OutOfSpecDecided,
    ProductManufactured,
    QualityOutOfSpec,
    QualityReleased,
    SlotsBooked,
    TemperatureLogChecked,
    UnitQuarantined,
)
from domain.grading import CrsComponents, IcansComponents
from domain.ltfu_events import (
    DelayedAdverseEventRecorded,
    LtfuConsentRecorded,
    LtfuContactAttempted,
    LtfuVisitCompleted,
)
from domain.measurements import Measurement
from domain.monitoring_events import (
    CasebookLocked,
    CasebookUnlocked,
    DatabaseLocked,
    DatabaseUnlocked,
    QueryAnswered,
    QueryClosed,
    QueryOpened,
    QueryReopened,
    SdvReset,
    SignatureApplied,
    SourceVerified,
)
from domain.renal import RenalAssessment
from domain.response import DerivedResponse, DiseaseActivity
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness
from domain.values import Disease, EndOutcome, Response, Route, ScheduledVisit, Sex

__all__ = [
    "ChainBreak",
    "Event",
    "EventPayload",
    "NewEvent",
    "compute_hash",
    "current_plan",
    "parse_event",
    "seal",
    "verify_chain",
]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1


class SubjectRegistered(_Payload):
    type: Literal["subject.registered"] = "subject.registered"
    subject_id: str
    disease: Disease
    sex: Sex
    birth_date: date
    site_id: str


class ConsentSigned(_Payload):
    type: Literal["consent.signed"] = "consent.signed"
    consent_version: str
    signed_on: date
    childbearing_potential: bool


class ConsentWithdrawn(_Payload):
    type: Literal["consent.withdrawn"] = "consent.withdrawn"
    withdrawn_on: date


class CriterionSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    verdict: Literal["met", "not_met", "missing"]
    reason: str


class ScreeningRecorded(_Payload):
    type: Literal["screening.recorded"] = "screening.recorded"
    record: dict[str, Any]
    eligible: bool
    criteria: tuple[CriterionSummary, ...]


class EligibilitySigned(_Payload):
    type: Literal["eligibility.signed"] = "eligibility.signed"
    decision: Literal["eligible", "not_eligible"]
    screening_seq: int


class ScreenFailed(_Payload):
    type: Literal["screening.failed"] = "screening.failed"
    cause: Literal["not_eligible", "window_expired"]
    detail: str


class SubjectEnrolled(_Payload):
    type: Literal["subject.enrolled"] = "subject.enrolled"
    dose_level: str
    route: Route


class ApheresisRecorded(_Payload):
    type: Literal["apheresis.recorded"] = "apheresis.recorded"
    collected_on: date
    volume_ml: float


class ProductReleased(_Payload):
    type: Literal["product.released"] = "product.released"
    lot: str
    released_on: date
    total_tu: float


class ManufacturingFailed(_Payload):
    type: Literal["manufacturing.failed"] = "manufacturing.failed"
    failed_on: date
    detail: str


class PlannedDose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drug: str
    day: int
    on: date
    mg: float


class LymphodepletionPlanned(_Payload):
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


class MeasurementRecorded(_Payload):
    """A dated result recorded after screening (re-checks before lymphodepletion, weights)."""

    type: Literal["measurement.recorded"] = "measurement.recorded"
    measurement: Measurement


class RenalOverrideRecorded(_Payload):
    """The PI's documented decision to give a renally cleared drug below its do-not-give
    threshold; always opens a protocol deviation in the same decision."""

    type: Literal["renal.override_recorded"] = "renal.override_recorded"
    drug: str
    assessment: RenalAssessment
    threshold: float
    # The factor the PI chose, at most the protocol's lowest band factor.
    factor: float
    justification: str


class InfusionWeightConfirmed(_Payload):
    """The PI confirms dosing by a weight that changed beyond tolerance since planning."""

    type: Literal["infusion.weight_confirmed"] = "infusion.weight_confirmed"
    weight_kg: float
    measured_on: date
    planning_weight_kg: float
    change_percent: float


class LymphodepletionApproved(_Payload):
    type: Literal["lymphodepletion.approved"] = "lymphodepletion.approved"
    plan_seq: int


class LymphodepletionDoseGiven(_Payload):
    type: Literal["lymphodepletion.dose_given"] = "lymphodepletion.dose_given"
    drug: str
    day: int
    mg: float
    given_on: date


class InfusionRecorded(_Payload):
    type: Literal["infusion.recorded"] = "infusion.recorded"
    infused_on: date
    dose_level: str
    route: Route
    weight_kg: float
    tu_per_kg: float
    total_tu: float
    schedule: tuple[ScheduledVisit, ...]


class VisitRescheduled(_Payload):
    type: Literal["visit.rescheduled"] = "visit.rescheduled"
    code: str
    target: date


class VisitWindowOpened(_Payload):
    type: Literal["visit.window_opened"] = "visit.window_opened"
    code: str
    window_start: date
    window_end: date


def _absent(value: object) -> bool:
    return value is None or value == ()


class VisitCompleted(_Payload):
    """Schema 1: the Cheson response at every visit, Day 0 included. Schema 2 (protocols with
    a ``[response]`` section): no response at the baseline visit; after it the disease activity,
    the glucocorticoid dose and the disease-specific responses derived from them. The schema-2
    fields are left out of the dump when absent, so schema-1 events hash as they were written."""

    type: Literal["visit.completed"] = "visit.completed"
    code: str
    completed_on: date
    response: Response | None
    activity: DiseaseActivity | None = Field(default=None, exclude_if=_absent)
    glucocorticoid_mg_per_day: float | None = Field(default=None, exclude_if=_absent)
    responses: tuple[DerivedResponse, ...] = Field(default=(), exclude_if=_absent)


class VisitMissed(_Payload):
    type: Literal["visit.missed"] = "visit.missed"
    code: str
    window_end: date


class DeviationOpened(_Payload):
    type: Literal["deviation.opened"] = "deviation.opened"
    deviation_id: str
    kind: str
    detail: str


class CorrectionRecorded(_Payload):
    type: Literal["correction.recorded"] = "correction.recorded"
    target_seq: int
    field: str
    old_value: Any
    new_value: Any
    # The eligibility verdict after a correction that changed it (a screening value); left out
    # of the record when None so corrections written before it hash as they did.
    eligible: bool | None = Field(default=None, exclude_if=lambda v: v is None)
    # The disease-specific responses derived again after a visit's activity or glucocorticoid
    # dose was corrected; left out when None, like ``eligible``.
    responses: tuple[DerivedResponse, ...] | None = Field(
        default=None, exclude_if=lambda v: v is None
    )


class ParticipationEnded(_Payload):
    type: Literal["participation.ended"] = "participation.ended"
    outcome: EndOutcome
    ended_on: date


# -- safety on the subject stream -----------------------------------------------------------------


class AdverseEventRecorded(_Payload):
    type: Literal["ae.recorded"] = "ae.recorded"
    ae_id: str
    kind: AeKind
    term: str
    # CTCAE v5 grade, or the ASTCT grade computed from ``crs`` / ``icans``.
    grade: int
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    onset_on: date
    seriousness: tuple[Seriousness, ...]
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    haematologic: bool
    outcome: AeOutcome
    # When the site became aware; the SAE report clock starts here.
    aware_at: datetime


class AdverseEventUpdated(_Payload):
    """The AE's values after the update (whole, so a reader needs no earlier event)."""

    type: Literal["ae.updated"] = "ae.updated"
    ae_id: str
    grade: int
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    seriousness: tuple[Seriousness, ...]
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    outcome: AeOutcome
    # Set when this update made a non-serious AE serious: the report clock starts here.
    became_serious_at: datetime | None = None


class AdverseEventResolved(_Payload):
    type: Literal["ae.resolved"] = "ae.resolved"
    ae_id: str
    resolved_on: date
    outcome: AeOutcome


class SaeReported(_Payload):
    type: Literal["sae.reported"] = "sae.reported"
    ae_id: str
    reported_at: datetime
    recipient: str
    reference: str
    late: bool


class SaeOverdue(_Payload):
    type: Literal["sae.overdue"] = "sae.overdue"
    ae_id: str
    due_at: datetime


class SusarIdentified(_Payload):
    """The AE meets the SUSAR criteria (serious, related, not in the reference safety
    information); the expedited clocks of every recipient start at ``since``."""

    type: Literal["susar.identified"] = "susar.identified"
    ae_id: str
    category: Literal["fatal_or_life_threatening", "other"]
    since: datetime
    # Why it is unexpected, e.g. "not in the RSI" or "grade 5 above the RSI's grade 3".
    unexpected_because: str


class SusarReported(_Payload):
    type: Literal["susar.reported"] = "susar.reported"
    ae_id: str
    recipient: str
    kind: Literal["initial", "follow_up"]
    reported_at: datetime
    reference: str
    late: bool


class SusarOverdue(_Payload):
    type: Literal["susar.overdue"] = "susar.overdue"
    ae_id: str
    recipient: str
    kind: Literal["initial", "follow_up"]
    due_at: datetime


class MonitoringRecorded(_Payload):
    type: Literal["monitoring.recorded"] = "monitoring.recorded"
    day: int
    on: date
    max_temperature_c: float
    ice_score: int | None = None
    notes: str | None = None


class MonitoringMissed(_Payload):
    type: Literal["monitoring.missed"] = "monitoring.missed"
    day: int
    on: date


class DltFlagged(_Payload):
    type: Literal["dlt.flagged"] = "dlt.flagged"
    ae_id: str
    rule: str
    grade: int


class DltWindowClosed(_Payload):
    type: Literal["dlt.window_closed"] = "dlt.window_closed"
    # not_evaluable: participation ended inside the window without a DLT (3+3 replaces them).
    outcome: Literal["dlt", "no_dlt", "not_evaluable"]
    dose_level: str
    closed_on: date
    dlt_ae_ids: tuple[str, ...] = ()


class StudySlotGranted(_Payload):
    """On the subject stream: the study let this subject proceed to lymphodepletion."""

    type: Literal["slot.granted"] = "slot.granted"
    study_id: str
    dose_level: str
    sentinel: bool


# -- the study stream ("study-<trial id>"): cohorts and dose escalation ----------------------------


class CohortSlotGranted(_Payload):
    type: Literal["study.slot_granted"] = "study.slot_granted"
    subject_id: str
    dose_level: str
    granted_on: date
    sentinel: bool


class CohortSubjectInfused(_Payload):
    type: Literal["study.subject_infused"] = "study.subject_infused"
    subject_id: str
    dose_level: str
    infused_on: date


class CohortDltOutcome(_Payload):
    type: Literal["study.dlt_outcome"] = "study.dlt_outcome"
    subject_id: str
    dose_level: str
    outcome: Literal["dlt", "no_dlt", "not_evaluable"]


class CohortExpanded(_Payload):
    type: Literal["study.cohort_expanded"] = "study.cohort_expanded"
    dose_level: str
    size: int
    dlts: int
    evaluable: int


class EscalationEligible(_Payload):
    type: Literal["study.escalation_eligible"] = "study.escalation_eligible"
    dose_level: str
    dlts: int
    evaluable: int


class DoseLevelStopped(_Payload):
    type: Literal["study.level_stopped"] = "study.level_stopped"
    dose_level: str
    dlts: int
    evaluable: int
    # The level below, which then needs six evaluable subjects; None when there is none.
    de_escalated_to: str | None


class SafetyReviewSigned(_Payload):
    type: Literal["study.safety_review_signed"] = "study.safety_review_signed"
    dose_level: str
    decision: Literal["escalate", "stay"]
    summary: str


class DoseEscalated(_Payload):
    type: Literal["study.escalated"] = "study.escalated"
    from_level: str
    to_level: str


EventPayload = Annotated[
    SubjectRegistered
    | ConsentSigned
    | ConsentWithdrawn
    | ScreeningRecorded
    | EligibilitySigned
    | ScreenFailed
    | SubjectEnrolled
    | ApheresisRecorded
    | ProductReleased
    | ManufacturingFailed
    | LymphodepletionPlanned
    | MeasurementRecorded
    | RenalOverrideRecorded
    | InfusionWeightConfirmed
    | LymphodepletionApproved
    | LymphodepletionDoseGiven
    | InfusionRecorded
    | VisitRescheduled
    | VisitWindowOpened
    | VisitCompleted
    | VisitMissed
    | DeviationOpened
    | CorrectionRecorded
    | ParticipationEnded
    | AdverseEventRecorded
    | AdverseEventUpdated
    | AdverseEventResolved
    | SaeReported
    | SaeOverdue
    | SusarIdentified
    | SusarReported
    | SusarOverdue
    | MonitoringRecorded
    | MonitoringMissed
    | DltFlagged
    | DltWindowClosed
    | StudySlotGranted
    | CohortSlotGranted
    | CohortSubjectInfused
    | CohortDltOutcome
    | CohortExpanded
    | EscalationEligible
    | DoseLevelStopped
    | SafetyReviewSigned
    | DoseEscalated
    | LtfuConsentRecorded
    | LtfuVisitCompleted
    | LtfuContactAttempted
    | DelayedAdverseEventRecorded
    | ProtocolAmendmentRegistered
    | ProtocolAmended
    | ReconsentRecorded
    | ReconsentOverdue
    | CoiAssigned
    | CustodyHandoff
    | ProductManufactured
    | QualityReleased
    | QualityOutOfSpec
    | OutOfSpecDecided
    | TemperatureLogChecked
    | UnitQuarantined
    | CustodyOverdue
    | BedsideVerified
    | BedsideCheckFailed
    | SlotsBooked
    # oversight: queries, SDV, signatures, locks (domain/monitoring_events.py)
    | QueryOpened
    | QueryAnswered
    | QueryClosed
    | QueryReopened
    | SourceVerified
    | SdvReset
    | SignatureApplied
    | CasebookLocked
    | CasebookUnlocked
    | DatabaseLocked
    | DatabaseUnlocked,
    Field(discriminator="type"),
]


class NewEvent(BaseModel):
    """What ``decide`` returns: a fact not yet placed in a stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payload: EventPayload
    occurred_at: datetime
    reason: str | None = None


class Event(BaseModel):
    """A sealed event: envelope + payload, linked to its predecessor by SHA-256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream: str
    seq: int = Field(ge=1)
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    reason: str | None
    protocol_version: str
    payload: EventPayload
    prev_hash: str
    hash: str
    # The client's id of the command that produced the event (retries carry the same id).
    # Left out of the dump when None, so events written before it hash and read as they did.
    command_id: str | None = Field(default=None, exclude_if=lambda v: v is None)
    # Absent on events stored before RFC 8785 was adopted (the sort_keys scheme); left out of the
    # serialised envelope when absent, so those events hash and store exactly as they were.
    hash_scheme: str | None = Field(default=None, exclude_if=lambda scheme: scheme is None)

    def hash_input(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"hash"})

    def envelope_text(self) -> str:
        """The exact text stored for this event: its scheme's canonical JSON, ``hash`` included."""
        return canonical_text(self.model_dump(mode="json"), self.hash_scheme)


def compute_hash(event_fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the envelope without ``hash``, in its own scheme."""
    return hash_envelope(event_fields)


def seal(
    new_events: Sequence[NewEvent],
    *,
    stream: str,
    last_seq: int,
    last_hash: str,
    actor: Actor,
    recorded_at: datetime,
    protocol_version: str,
    command_id: str | None = None,
    hash_scheme: str | None = JCS_SCHEME,
) -> list[Event]:
    """Number and chain decided events after the stream's current head.

    New events hash under RFC 8785; ``hash_scheme=None`` (legacy) is for workflow code replaying
    histories recorded before it, which must reproduce the hashes they stored.
    """
    sealed: list[Event] = []
    prev = last_hash or GENESIS_HASH
    for offset, new in enumerate(new_events, start=1):
        fields: dict[str, Any] = {
            "stream": stream,
            "seq": last_seq + offset,
            "type": new.payload.type,
            "schema_version": new.payload.schema_version,
            "occurred_at": new.occurred_at,
            "recorded_at": recorded_at,
            "actor": actor,
            "reason": new.reason,
            "protocol_version": protocol_version,
            "payload": new.payload,
            "prev_hash": prev,
            "hash": "",
            "command_id": command_id,
            "hash_scheme": hash_scheme,
        }
        draft = Event.model_validate(fields)
        event = draft.model_copy(update={"hash": compute_hash(draft.hash_input())})
        sealed.append(event)
        prev = event.hash
    return sealed


def _plan_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A version-1 plan's typed eGFR becomes an undated renal assessment; ``egfr`` stays."""
    renal = {"method": "typed_egfr", "value": payload["egfr"], "unit": "mL/min/1.73m2"}
    return {**payload, "schema_version": 2, "renal": renal}


def current_plan(plan: LymphodepletionPlanned) -> LymphodepletionPlanned:
    """The plan in its current schema, also when it reached the fold without ``parse_event``
    (a Temporal history holds events as they were written)."""
    if plan.schema_version >= 2:
        return plan
    return LymphodepletionPlanned.model_validate(_plan_v1_to_v2(plan.model_dump(mode="json")))


# Upcasters turn an older payload schema into the current one, keyed by (type, from_version).
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("lymphodepletion.planned", 1): _plan_v1_to_v2,
}

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: dict[str, Any]) -> Event:
    """Validate a stored event, upcasting older payload versions first.

    The hash always covers the payload as it was written, so verification must use the
    raw stored JSON, not this parsed (possibly upcast) value.
    """
    payload = dict(raw["payload"])
    while (key := (payload["type"], int(payload.get("schema_version", 1)))) in _UPCASTERS:
        payload = _UPCASTERS[key](payload)
    return _EVENT_ADAPTER.validate_python({**raw, "payload": payload})


class ChainBreak(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    problem: str


def verify_chain(stream: str, rows: Iterable[dict[str, Any]]) -> ChainBreak | None:
    """Check one stream's stored JSON rows in seq order; return the first break, if any.

    Rows are the raw stored envelopes (dicts), so a tampered field is hashed exactly as stored.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    for row in rows:
        seq = int(row.get("seq", -1))
        if row.get("stream") != stream:
            return ChainBreak(stream=stream, seq=seq, problem=f"stream is {row.get('stream')!r}")
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "duplicate or out of order"
            return ChainBreak(
                stream=stream,
                seq=expected_seq,
                problem=f"seq gap: expected {expected_seq}, found {seq} ({what})",
            )
        if row.get("prev_hash") != prev:
            return ChainBreak(
                stream=stream,
                seq=seq,
                problem="prev_hash does not match the previous event's hash "
                "(an event was inserted, deleted or reordered)",
            )
        try:
            actual = compute_hash(row)
        except (UnknownHashScheme, ValueError) as exc:
            return ChainBreak(stream=stream, seq=seq, problem=f"cannot hash the envelope: {exc}")
        if row.get("hash") != actual:
            return ChainBreak(
                stream=stream,
                seq=seq,
                problem=f"hash mismatch: stored {str(row.get('hash'))[:12]}…, "
                f"recomputed {actual[:12]}… (payload or envelope changed)",
            )
        prev = actual
        expected_seq += 1
    return None
