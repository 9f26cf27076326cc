"""What the custody views show: each unit's timeline and where all material is now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from domain.custody import CustodyUnit, format_coi
from domain.state import SubjectState

__all__ = [
    "MaterialItem",
    "SubjectVeinToVein",
    "UnitView",
    "VeinToVein",
    "material_board",
    "status_of",
    "unit_views",
    "vein_to_vein",
]

Stage = Literal["in_transit", "in_manufacturing", "awaiting_infusion", "done"]

_STAGES: dict[str, Stage] = {
    "collected": "in_transit",
    "packed": "in_transit",
    "shipped": "in_transit",
    "received_at_manufacturing": "in_manufacturing",
    "manufacturing_started": "in_manufacturing",
    "manufactured": "in_manufacturing",
    "quality_released": "in_manufacturing",
    "shipped_cryopreserved": "in_transit",
    "received_at_site": "awaiting_infusion",
    "stored": "awaiting_infusion",
    "thawed": "awaiting_infusion",
    "infused": "done",
}


def status_of(unit: CustodyUnit) -> Stage:
    # An apheresis unit is done once its product exists; the product carries on.
    if unit.kind == "apheresis" and unit.step == "manufacturing_started":
        return "in_manufacturing"
    return _STAGES[unit.step]


def _temperature(unit: CustodyUnit) -> str:
    if unit.temperature_ok is None:
        return "no log"
    return "within limits" if unit.temperature_ok else "EXCURSION"


class UnitView(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: CustodyUnit
    stage: Stage
    temperature: str
    label_url: str


class MaterialItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    coi: str
    unit_id: str
    kind: str
    step: str
    stage: Stage
    holder: str
    location: str
    since: datetime
    release: str
    quarantined: bool
    temperature: str


class SubjectVeinToVein(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    days: float


class VeinToVein(BaseModel):
    # Rows are objects, not pairs: a tuple schema (prefixItems) is poorly supported by OpenAPI
    # tooling, the schema-driven fuzz test's validator among them.
    model_config = ConfigDict(frozen=True)

    per_subject: tuple[SubjectVeinToVein, ...]
    median_days: float | None


def vein_to_vein(states: Iterable[SubjectState]) -> VeinToVein:
    """Collection to infusion per infused subject, and the median over them."""
    rows = tuple(
        SubjectVeinToVein(subject_id=s.subject_id, days=round(days, 1))
        for s in states
        if (days := s.custody.vein_to_vein_days) is not None
    )
    return VeinToVein(
        per_subject=rows, median_days=round(median(r.days for r in rows), 1) if rows else None
    )


def unit_views(state: SubjectState) -> list[UnitView]:
    return [
        UnitView(
            unit=u,
            stage=status_of(u),
            temperature=_temperature(u),
            label_url=f"/subjects/{state.subject_id}/label.png?unit_id={quote(u.unit_id)}",
        )
        for u in state.custody.units
    ]


def material_board(states: Iterable[SubjectState]) -> list[MaterialItem]:
    """Every unit not yet infused, in transit, in manufacturing or awaiting infusion."""
    items = []
    for s in states:
        if s.custody.coi is None:
            continue
        latest = {u.kind: u.unit_id for u in s.custody.units}
        for u in s.custody.units:
            stage = status_of(u)
            consumed = u.kind == "apheresis" and any(
                p.parent_unit_id == u.unit_id for p in s.custody.units
            )
            # A unit a later collection or lot replaced has left the chain.
            if stage == "done" or consumed or latest[u.kind] != u.unit_id:
                continue
            items.append(
                MaterialItem(
                    subject_id=s.subject_id,
                    coi=format_coi(s.custody.coi),
                    unit_id=u.unit_id,
                    kind=u.kind,
                    step=u.step,
                    stage=stage,
                    holder=u.holder,
                    location=u.location,
                    since=u.since,
                    release=u.release,
                    quarantined=u.quarantined,
                    temperature=_temperature(u),
                )
            )
    return sorted(items, key=lambda i: (i.stage, i.since))
