"""Sealed test events built with the domain's own ``seal``, one stream at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.actors import Actor, Role
from domain.canonical import GENESIS_HASH, JCS_SCHEME
from domain.events import (
    ApheresisRecorded,
    ConsentSigned,
    EligibilitySigned,
    Event,
    EventPayload,
    InfusionRecorded,
    LymphodepletionApproved,
    NewEvent,
    ProductReleased,
    ScreeningRecorded,
    SubjectEnrolled,
    SubjectRegistered,
    seal,
)
from domain.values import Disease, Route, ScheduledVisit

COORDINATOR = Actor(user_id="coord-1", role=Role.COORDINATOR)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
INFUSION_DAY = date(2025, 4, 14)


class Chain:
    """Seals successive batches for one stream, remembering its head like a workflow would."""

    def __init__(
        self, stream: str, actor: Actor = COORDINATOR, hash_scheme: str | None = JCS_SCHEME
    ) -> None:
        """``hash_scheme=None`` seals like a workflow recorded before RFC 8785 (legacy)."""
        self.stream = stream
        self.actor = actor
        self.hash_scheme = hash_scheme
        self.seq = 0
        self.hash = GENESIS_HASH
        self.clock = T0

    def peek(self, *payloads: EventPayload, actor: Actor | None = None) -> list[Event]:
        """Seal after the current head without advancing it."""
        return seal(
            [NewEvent(payload=p, occurred_at=self.clock) for p in payloads],
            stream=self.stream,
            last_seq=self.seq,
            last_hash=self.hash,
            actor=actor or self.actor,
            recorded_at=self.clock,
            protocol_version="1.0",
            hash_scheme=self.hash_scheme,
        )

    def next(self, *payloads: EventPayload) -> list[Event]:
        batch = self.peek(*payloads)
        self.seq, self.hash = batch[-1].seq, batch[-1].hash
        self.clock += timedelta(hours=1)
        return batch


def registered(subject_id: str, disease: Disease = "SLE") -> SubjectRegistered:
    return SubjectRegistered(
        subject_id=subject_id,
        disease=disease,
        sex="female",
        birth_date=date(1985, 6, 1),
        site_id="SBH-01",
    )


def consent() -> ConsentSigned:
    return ConsentSigned(
        consent_version="2.0", signed_on=date(2025, 3, 3), childbearing_potential=True
    )


def schedule(infused_on: date = INFUSION_DAY) -> tuple[ScheduledVisit, ...]:
    def visit(code: str, days: int, window: int) -> ScheduledVisit:
        target = infused_on + timedelta(days=days)
        return ScheduledVisit(
            code=code,
            label=code,
            target=target,
            window_start=target - timedelta(days=window),
            window_end=target + timedelta(days=window),
        )

    return (visit("M1", 28, 3), visit("M2", 56, 7), visit("M3", 84, 7), visit("M6", 180, 14))


def enrolled(dose_level: str = "DL1", route: Route = "intravenous") -> SubjectEnrolled:
    return SubjectEnrolled(dose_level=dose_level, route=route)


def infusion(dose_level: str = "DL1", route: Route = "intravenous") -> InfusionRecorded:
    return InfusionRecorded(
        infused_on=INFUSION_DAY,
        dose_level=dose_level,
        route=route,
        weight_kg=61.5,
        tu_per_kg=2.0e6,
        total_tu=1.23e8,
        schedule=schedule(),
    )


def to_infusion(
    subject_id: str, disease: Disease = "SLE", dose_level: str = "DL1"
) -> list[EventPayload]:
    """The payloads that carry a subject from registration to Day 0."""
    return [
        registered(subject_id, disease),
        consent(),
        ScreeningRecorded(record={"sledai": 12, "hb_g_l": 104.5}, eligible=True, criteria=()),
        EligibilitySigned(decision="eligible", screening_seq=3),
        enrolled(dose_level),
        ApheresisRecorded(collected_on=date(2025, 3, 20), volume_ml=212.5),
        ProductReleased(lot="LOT-1", released_on=date(2025, 4, 5), total_tu=1.5e8),
        LymphodepletionApproved(plan_seq=8),
        infusion(dose_level),
    ]
