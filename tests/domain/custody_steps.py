"""Custody commands as a site sends them, shared by the domain, workflow and web tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import custody_commands as cc
from domain.custody_events import CertificateOfAnalysis

__all__ = [
    "COA_OK",
    "COA_OOS",
    "collect",
    "handoff",
    "manufactured",
    "quality_release",
    "temperature_log",
    "verify",
]

COA_OK = CertificateOfAnalysis(
    viability_pct=88.0,
    car_positive_pct=41.0,
    vcn_copies_per_cell=1.9,
    sterility="negative",
    endotoxin_eu_per_ml=0.4,
    mycoplasma="negative",
    rcl="negative",
    certificate_ref="COA-2026-001",
)
# Viability below the 70 % limit: out of specification.
COA_OOS = COA_OK.model_copy(update={"viability_pct": 61.0, "certificate_ref": "COA-2026-002"})

_PARTIES: dict[str, tuple[str, str, str]] = {
    "packed": ("apheresis nurse", "cell lab SBH", "SBH cell processing lab"),
    "shipped": ("cell lab SBH", "courier", "in transit to manufacturing"),
    "received_at_manufacturing": ("courier", "JY231 manufacturing QA", "manufacturing site"),
    "manufacturing_started": ("manufacturing QA", "manufacturing suite", "manufacturing site"),
    "shipped_cryopreserved": ("manufacturing QA", "courier", "in transit to SBH"),
    "received_at_site": ("courier", "SBH cell lab", "SBH cell lab"),
    "stored": ("SBH cell lab", "SBH cell lab", "LN2 tank 2, rack B, box 4"),
    "thawed": ("SBH cell lab", "ward nurse", "SBH haematology ward"),
}


def collect(at: datetime, volume_ml: float = 180) -> cc.RecordCustodyHandoff:
    return cc.RecordCustodyHandoff(
        occurred_at=at,
        step="collected",
        from_party="apheresis nurse",
        to_party="cell lab SBH",
        location="SBH apheresis unit",
        volume_ml=volume_ml,
    )


def handoff(at: datetime, step: str, unit_id: str) -> cc.RecordCustodyHandoff:
    sender, receiver, where = _PARTIES[step]
    shipping = step in ("shipped", "shipped_cryopreserved")
    return cc.RecordCustodyHandoff(
        occurred_at=at,
        step=step,  # type: ignore[arg-type]
        unit_id=unit_id,
        from_party=sender,
        to_party=receiver,
        location=where,
        courier="ColdChain Express" if shipping else None,
        shipper_id="DS-0042" if shipping else None,
    )


def manufactured(
    at: datetime, unit_id: str, total_tu: float = 5e9, expires_on: date | None = None
) -> cc.RecordManufactured:
    return cc.RecordManufactured(
        occurred_at=at,
        unit_id=unit_id,
        lot="JY231-L001",
        total_tu=total_tu,
        expires_on=expires_on or (at.date() + timedelta(days=180)),
        location="manufacturing site, cryostore 1",
        holder="manufacturing QA",
    )


def quality_release(
    at: datetime, unit_id: str, coa: CertificateOfAnalysis = COA_OK
) -> cc.RecordQualityRelease:
    return cc.RecordQualityRelease(occurred_at=at, unit_id=unit_id, released_on=at.date(), coa=coa)


def temperature_log(
    at: datetime, unit_id: str, temperatures: list[float], logger_id: str = "DS-0042"
) -> cc.UploadTemperatureLog:
    readings = tuple(
        cc.UploadedReading(at=at - timedelta(minutes=10 * (len(temperatures) - i)), celsius=t)
        for i, t in enumerate(temperatures)
    )
    return cc.UploadTemperatureLog(
        occurred_at=at, unit_id=unit_id, logger_id=logger_id, readings=readings
    )


def verify(
    at: datetime,
    subject_id: str,
    coi: str,
    unit_id: str,
    weight_kg: float = 60,
    tu_per_kg: float = 5e6,
) -> cc.VerifyBedside:
    return cc.VerifyBedside(
        occurred_at=at,
        subject_id=subject_id,
        coi=coi,
        unit_id=unit_id,
        weight_kg=weight_kg,
        tu_per_kg=tu_per_kg,
    )
