"""The ``EventPayload`` union: every payload of the subject and study streams, told apart by its
``type``; ``domain/events.py`` is its public face."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.amendment_events import (
    ProtocolAmended,
    ProtocolAmendmentRegistered,
    ReconsentOverdue,
    ReconsentRecorded,
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
from domain.enrolment_events import (
    ConsentSigned,
    ConsentWithdrawn,
    EligibilitySigned,
    ScreenFailed,
    ScreeningRecorded,
    SubjectEnrolled,
    SubjectRegistered,
)
from domain.ltfu_events import (
    DelayedAdverseEventRecorded,
    LtfuConsentRecorded,
    LtfuContactAttempted,
    LtfuVisitCompleted,
)
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
from domain.safety_events import (
    AdverseEventRecorded,
    AdverseEventResolved,
    AdverseEventUpdated,
    DltFlagged,
    DltWindowClosed,
    MonitoringMissed,
    MonitoringRecorded,
    SaeOverdue,
    SaeReported,
    StudySlotGranted,
    SusarIdentified,
    SusarOverdue,
    SusarReported,
)
from domain.study_events import (
    CohortDltOutcome,
    CohortExpanded,
    CohortSlotGranted,
    CohortSubjectInfused,
    DoseEscalated,
    DoseLevelStopped,
    EscalationEligible,
    SafetyReviewSigned,
)
from domain.treatment_events import (
    ApheresisRecorded,
    InfusionRecorded,
    InfusionWeightConfirmed,
    LymphodepletionApproved,
    LymphodepletionDoseGiven,
    LymphodepletionPlanned,
    ManufacturingFailed,
    MeasurementRecorded,
    ProductReleased,
    RenalOverrideRecorded,
)
from domain.visit_events import (
    CorrectionRecorded,
    DeviationOpened,
    ParticipationEnded,
    VisitCompleted,
    VisitMissed,
    VisitRescheduled,
    VisitWindowOpened,
)

__all__ = ["EventPayload"]

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
