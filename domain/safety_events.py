"""Safety events on the subject's stream: adverse events, SAE and SUSAR reporting, monitoring,
DLTs and the study's slot (``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from domain.grading import CrsComponents, IcansComponents
from domain.payload import Payload
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness

__all__ = [
    "AdverseEventRecorded",
    "AdverseEventResolved",
    "AdverseEventUpdated",
    "DltFlagged",
    "DltWindowClosed",
    "MonitoringMissed",
    "MonitoringRecorded",
    "SaeOverdue",
    "SaeReported",
    "StudySlotGranted",
    "SusarIdentified",
    "SusarOverdue",
    "SusarReported",
]


class AdverseEventRecorded(Payload):
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


class AdverseEventUpdated(Payload):
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


class AdverseEventResolved(Payload):
    type: Literal["ae.resolved"] = "ae.resolved"
    ae_id: str
    resolved_on: date
    outcome: AeOutcome


class SaeReported(Payload):
    type: Literal["sae.reported"] = "sae.reported"
    ae_id: str
    reported_at: datetime
    recipient: str
    reference: str
    late: bool


class SaeOverdue(Payload):
    type: Literal["sae.overdue"] = "sae.overdue"
    ae_id: str
    due_at: datetime


class SusarIdentified(Payload):
    """The AE meets the SUSAR criteria (serious, related, not in the reference safety
    information); the expedited clocks of every recipient start at ``since``."""

    type: Literal["susar.identified"] = "susar.identified"
    ae_id: str
    category: Literal["fatal_or_life_threatening", "other"]
    since: datetime
    # Why it is unexpected, e.g. "not in the RSI" or "grade 5 above the RSI's grade 3".
    unexpected_because: str


class SusarReported(Payload):
    type: Literal["susar.reported"] = "susar.reported"
    ae_id: str
    recipient: str
    kind: Literal["initial", "follow_up"]
    reported_at: datetime
    reference: str
    late: bool


class SusarOverdue(Payload):
    type: Literal["susar.overdue"] = "susar.overdue"
    ae_id: str
    recipient: str
    kind: Literal["initial", "follow_up"]
    due_at: datetime


class MonitoringRecorded(Payload):
    type: Literal["monitoring.recorded"] = "monitoring.recorded"
    day: int
    on: date
    max_temperature_c: float
    ice_score: int | None = None
    notes: str | None = None


class MonitoringMissed(Payload):
    type: Literal["monitoring.missed"] = "monitoring.missed"
    day: int
    on: date


class DltFlagged(Payload):
    type: Literal["dlt.flagged"] = "dlt.flagged"
    ae_id: str
    rule: str
    grade: int


class DltWindowClosed(Payload):
    type: Literal["dlt.window_closed"] = "dlt.window_closed"
    # not_evaluable: participation ended inside the window without a DLT (3+3 replaces them).
    outcome: Literal["dlt", "no_dlt", "not_evaluable"]
    dose_level: str
    closed_on: date
    dlt_ae_ids: tuple[str, ...] = ()


class StudySlotGranted(Payload):
    """On the subject stream: the study let this subject proceed to lymphodepletion."""

    type: Literal["slot.granted"] = "slot.granted"
    study_id: str
    dose_level: str
    sentinel: bool
