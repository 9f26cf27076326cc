"""The chain of custody of one synthetic subject: dated handoffs from collection to bedside.

Unit ids are known at planning time because the COI is a pure function of the facility,
the enrollment year and the subject id, as the domain computes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from pydantic import BaseModel, ConfigDict

from domain import commands as c
from domain import custody_commands as cc
from domain.actors import Actor
from domain.custody import coi_sequence, make_coi, unit_id_for
from domain.custody_events import CertificateOfAnalysis
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.values import Phase
from simulation.staff import COORDINATOR, INVESTIGATOR, PI

__all__ = ["CustodyFigures", "CustodyPlan", "custody_figures", "plan_chain", "plan_collection"]

Add = Callable[[datetime, Actor, c.Command, Phase], None]

_COA = CertificateOfAnalysis(
    viability_pct=86.0,
    car_positive_pct=38.0,
    vcn_copies_per_cell=2.1,
    sterility="negative",
    endotoxin_eu_per_ml=0.5,
    mycoplasma="negative",
    rcl="negative",
    certificate_ref="COA-SIM",
)
_SITE = "SBH-01"


@dataclass(frozen=True, slots=True)
class CustodyPlan:
    """What a subject's chain will meet: a shipper excursion, an out-of-spec lot."""

    excursion: bool = False
    out_of_spec: bool = False


def _coi(subject_id: str, enrolled: date, protocol: Protocol) -> str:
    assert protocol.custody is not None
    facility = protocol.custody.facility_codes[_SITE]
    return make_coi(facility, enrolled.year, coi_sequence(subject_id))


def _handoff(
    at: datetime, step: str, unit: str | None, parties: tuple[str, str, str], **extra: object
) -> cc.RecordCustodyHandoff:
    sender, receiver, where = parties
    return cc.RecordCustodyHandoff(
        occurred_at=at,
        step=step,
        unit_id=unit,
        from_party=sender,
        to_party=receiver,
        location=where,
        **extra,
    )


def _log(at: datetime, unit: str, temperatures: Sequence[float]) -> cc.UploadTemperatureLog:
    readings = tuple(
        cc.UploadedReading(at=at - timedelta(hours=len(temperatures) - i), celsius=t)
        for i, t in enumerate(temperatures)
    )
    return cc.UploadTemperatureLog(
        occurred_at=at, unit_id=unit, logger_id="SIM-LOGGER", readings=readings
    )


def plan_collection(
    add: Add,
    subject_id: str,
    enrolled: date,
    at: datetime,
    number: int,
    protocol: Protocol,
    rng: random.Random,
    *,
    excursion: bool = False,
) -> datetime:
    """Collect a fresh unit and move it to manufacturing start; returns when it started."""
    unit = unit_id_for(_coi(subject_id, enrolled, protocol), "apheresis", number)
    volume = float(rng.randint(120, 300))
    add(
        at,
        COORDINATOR,
        _handoff(
            at,
            "collected",
            None,
            ("apheresis nurse", "cell lab", "apheresis unit"),
            volume_ml=volume,
        ),
        Phase.APHERESIS,
    )
    steps = (
        ("packed", 1, ("apheresis nurse", "cell lab", "cell lab")),
        ("shipped", 1, ("cell lab", "courier", "in transit")),
        ("received_at_manufacturing", rng.randint(12, 30), ("courier", "QA", "manufacturing")),
        ("manufacturing_started", 2, ("QA", "manufacturing suite", "manufacturing")),
    )
    for step, hours, parties in steps:
        at += timedelta(hours=hours)
        extra: dict[str, object] = {}
        if step == "shipped":
            extra = {"courier": "SimCourier", "shipper_id": f"SHP-{subject_id}-{number}"}
        add(at, COORDINATOR, _handoff(at, step, unit, parties, **extra), Phase.APHERESIS)
        if step == "received_at_manufacturing":
            temperatures = [4.5, 5.1, 11.5 if excursion else 6.0, 5.4]
            add(at, COORDINATOR, _log(at, unit, temperatures), Phase.APHERESIS)
            if excursion:
                # The fresh unit is quarantined; manufacturing refuses it and a new
                # collection follows.
                return at
    return at


def plan_chain(
    add: Add,
    subject_id: str,
    enrolled: date,
    started: datetime,
    release_day: date,
    infusion: date,
    total_tu: float,
    weight: float,
    tu_per_kg: float,
    protocol: Protocol,
    *,
    apheresis_number: int,
    out_of_spec: bool,
    clinic: Callable[[date], datetime],
) -> None:
    """Manufacture, release (an out-of-spec lot goes to the PI), return, store; then on the
    infusion day thaw, two bedside checks and the infusion itself."""
    coi = _coi(subject_id, enrolled, protocol)
    source = unit_id_for(coi, "apheresis", apheresis_number)
    product = unit_id_for(coi, "product", 1)
    made = started + timedelta(days=8)
    add(
        made,
        COORDINATOR,
        cc.RecordManufactured(
            occurred_at=made,
            unit_id=source,
            lot=f"JY231-{subject_id}",
            total_tu=total_tu,
            expires_on=made.date() + timedelta(days=365),
            location="manufacturing cryostore",
            holder="manufacturing QA",
        ),
        Phase.APHERESIS,
    )
    released = clinic(release_day)
    coa = _COA.model_copy(update={"viability_pct": 64.0}) if out_of_spec else _COA
    add(
        released,
        COORDINATOR,
        cc.RecordQualityRelease(
            occurred_at=released, unit_id=product, released_on=release_day, coa=coa
        ),
        Phase.APHERESIS if out_of_spec else Phase.AWAITING_PRODUCT,
    )
    if out_of_spec:
        add(
            released,
            PI,
            cc.DecideOutOfSpec(
                occurred_at=released,
                unit_id=product,
                decision="use",
                reason="viability 64 % against 70 %: no alternative lot; benefit outweighs risk",
            ),
            Phase.AWAITING_PRODUCT,
        )
    at = released
    for step, hours, parties, extra in (
        ("shipped_cryopreserved", 2, ("QA", "courier", "in transit"),
         {"courier": "SimCourier", "shipper_id": f"DS-{subject_id}"}),
        ("received_at_site", 20, ("courier", "cell lab", "cell lab"), {}),
        ("stored", 1, ("cell lab", "cell lab", "LN2 tank"), {}),
    ):  # fmt: skip
        at += timedelta(hours=hours)
        add(at, COORDINATOR, _handoff(at, step, product, parties, **extra), Phase.AWAITING_PRODUCT)
        if step == "received_at_site":
            add(
                at, COORDINATOR, _log(at, product, [-182.0, -180.5, -181.2]), Phase.AWAITING_PRODUCT
            )
    # Thawed 20 minutes before the clinic's infusion time, inside the thaw-to-infusion limit.
    bedside = clinic(infusion)
    thaw = bedside - timedelta(minutes=20)
    add(
        thaw,
        COORDINATOR,
        _handoff(thaw, "thawed", product, ("cell lab", "ward nurse", "haematology ward")),
        Phase.LYMPHODEPLETION,
    )
    for minutes, actor in ((10, COORDINATOR), (5, INVESTIGATOR)):
        when = bedside - timedelta(minutes=minutes)
        add(
            when,
            actor,
            cc.VerifyBedside(
                occurred_at=when,
                subject_id=subject_id,
                coi=coi,
                unit_id=product,
                weight_kg=weight,
                tu_per_kg=tu_per_kg,
            ),
            Phase.LYMPHODEPLETION,
        )


class CustodyFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    subjects_with_coi: int
    units: int
    handoffs: int
    excursions: int
    quarantined: int
    out_of_spec_lots: int
    bedside_checks_passed: int
    bedside_checks_failed: int
    vein_to_vein_subjects: int
    vein_to_vein_days_median: float | None
    vein_to_vein_days_min: float | None
    vein_to_vein_days_max: float | None


def custody_figures(states: Sequence[SubjectState]) -> CustodyFigures:
    """Vein-to-vein time (first collection to infusion) and the chain's incidents."""
    days = [d for s in states if (d := s.custody.vein_to_vein_days) is not None]
    units = [u for s in states for u in s.custody.units]
    return CustodyFigures(
        subjects_with_coi=sum(1 for s in states if s.custody.coi),
        units=len(units),
        handoffs=sum(len(u.timeline) for u in units),
        excursions=sum(1 for u in units if u.temperature_ok is False),
        quarantined=sum(1 for u in units if u.quarantined),
        out_of_spec_lots=sum(1 for u in units if u.release in ("use_approved", "rejected")),
        bedside_checks_passed=sum(
            1 for s in states if s.custody.bedside is not None and s.custody.bedside.passed
        ),
        bedside_checks_failed=sum(s.custody.failed_checks for s in states),
        vein_to_vein_subjects=len(days),
        vein_to_vein_days_median=round(median(days), 1) if days else None,
        vein_to_vein_days_min=round(min(days), 1) if days else None,
        vein_to_vein_days_max=round(max(days), 1) if days else None,
    )
