"""Chain of identity and custody, the pure part: identifiers, units, the order of handoffs.

The chain-of-identity identifier (COI) follows the shape of ISBT 128's identifiers
(ST-028 builds the COI on the donation identification number): a five-character facility
identification number, a two-digit year, a six-digit sequence and one ISO/IEC 7064
MOD 37-2 check character over the thirteen characters before it. Every material unit
(apheresis bag, product bag) carries a unit id that starts with the subject's COI, so the
identity can be read off any label.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "APHERESIS_STEPS",
    "HANDOFF_STEPS",
    "PRODUCT_STEPS",
    "BedsideCheck",
    "CustodyEntry",
    "CustodyState",
    "CustodyStep",
    "CustodyUnit",
    "ReleaseStatus",
    "SlotChain",
    "UnitKind",
    "coi_sequence",
    "format_coi",
    "is_valid_coi",
    "make_coi",
    "mod37_2",
    "normalise_id",
    "unit_id_for",
]

_MOD37_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"

CustodyStep = Literal[
    "collected",
    "packed",
    "shipped",
    "received_at_manufacturing",
    "manufacturing_started",
    "manufactured",
    "quality_released",
    "shipped_cryopreserved",
    "received_at_site",
    "stored",
    "thawed",
    "infused",
]
UnitKind = Literal["apheresis", "product"]
ReleaseStatus = Literal["pending", "released", "out_of_spec", "use_approved", "rejected"]
Condition = Literal["fresh", "cryopreserved", "thawed"]

# Each unit moves strictly forward through its own steps, one at a time.
APHERESIS_STEPS: tuple[CustodyStep, ...] = (
    "collected",
    "packed",
    "shipped",
    "received_at_manufacturing",
    "manufacturing_started",
)
PRODUCT_STEPS: tuple[CustodyStep, ...] = (
    "manufactured",
    "quality_released",
    "shipped_cryopreserved",
    "received_at_site",
    "stored",
    "thawed",
    "infused",
)
# The steps recorded with the plain handoff command; the others carry results of their own.
HANDOFF_STEPS: frozenset[str] = frozenset(APHERESIS_STEPS) | {
    "shipped_cryopreserved",
    "received_at_site",
    "stored",
    "thawed",
}


def mod37_2(data: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character (pure system, radix 2) over 0-9, A-Z."""
    p = 0
    for ch in data:
        value = _MOD37_ALPHABET.find(ch)
        if value < 0 or value > 35:
            raise ValueError(f"{ch!r} is not a digit or capital letter")
        p = ((p + value) * 2) % 37
    return _MOD37_ALPHABET[(38 - p) % 37]


def coi_sequence(subject_id: str) -> int:
    """The six-digit sequence of a subject's COI, from workflow data alone.

    Subject ids are unique in the study and sites number them in enrollment order
    (``S-0001``, ``S-0002``…), so the trailing number is the subject's sequence. An id without
    a trailing number falls back to a stable digest of the id (never random: replay must
    give the same COI).
    """
    match = re.search(r"(\d+)$", subject_id)
    if match is not None and 0 < int(match.group(1)) < 1_000_000:
        return int(match.group(1))
    digest = hashlib.sha256(subject_id.encode()).hexdigest()
    return int(digest, 16) % 999_999 + 1


def make_coi(facility_code: str, year: int, sequence: int) -> str:
    body = f"{facility_code}{year % 100:02d}{sequence:06d}"
    return body + mod37_2(body)


def normalise_id(raw: str) -> str:
    """What a scanner or a person typed, without spaces and in capitals."""
    return re.sub(r"\s+", "", raw).upper()


def is_valid_coi(raw: str) -> bool:
    coi = normalise_id(raw)
    if not re.fullmatch(r"[A-Z][0-9]{4}[0-9]{2}[0-9]{6}[0-9A-Z*]", coi):
        return False
    return mod37_2(coi[:-1]) == coi[-1]


def format_coi(coi: str) -> str:
    """Eye-readable form for labels: facility, year, sequence, check character."""
    return f"{coi[:5]} {coi[5:7]} {coi[7:13]} {coi[13:]}"


def unit_id_for(coi: str, kind: UnitKind, number: int) -> str:
    return f"{coi}-{'AP' if kind == 'apheresis' else 'PR'}{number:02d}"


class CustodyEntry(BaseModel):
    """One line of a unit's custody timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    step: str
    at: datetime
    by: str
    from_party: str | None = None
    to_party: str | None = None
    location: str | None = None
    detail: str | None = None


class CustodyUnit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_id: str
    kind: UnitKind
    parent_unit_id: str | None = None
    step: CustodyStep
    since: datetime
    holder: str
    location: str
    condition: Condition
    collected_at: datetime | None = None
    thawed_at: datetime | None = None
    lot: str | None = None
    total_tu: float | None = None
    expires_on: date | None = None
    release: ReleaseStatus = "pending"
    quarantined: bool = False
    quarantine_reason: str | None = None
    # Timers that have fired for this unit (fresh_transit, thaw_to_infusion).
    overdue: tuple[str, ...] = ()
    temperature_ok: bool | None = None
    timeline: tuple[CustodyEntry, ...] = ()

    @property
    def steps(self) -> tuple[CustodyStep, ...]:
        return APHERESIS_STEPS if self.kind == "apheresis" else PRODUCT_STEPS

    @property
    def next_step(self) -> CustodyStep | None:
        order = self.steps
        index = order.index(self.step)
        return order[index + 1] if index + 1 < len(order) else None

    @property
    def usable(self) -> bool:
        return self.release in ("released", "use_approved") and not self.quarantined


class BedsideCheck(BaseModel):
    """The bedside identity verification in progress or passed, for one product unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_id: str
    weight_kg: float
    tu_per_kg: float
    verifiers: tuple[str, ...]
    passed_at: datetime | None = None

    @property
    def passed(self) -> bool:
        return self.passed_at is not None


class SlotChain(BaseModel):
    """The dates booked for a subject's chain, from the apheresis day and the lead times."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    apheresis_on: date
    manufacturing_start_on: date
    release_on: date
    at_site_on: date
    earliest_infusion_on: date

    @property
    def planned_vein_to_vein_days(self) -> int:
        return (self.earliest_infusion_on - self.apheresis_on).days


class CustodyState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    coi: str | None = None
    booking: SlotChain | None = None
    units: tuple[CustodyUnit, ...] = ()
    bedside: BedsideCheck | None = None
    failed_checks: int = 0

    def unit(self, unit_id: str) -> CustodyUnit | None:
        wanted = normalise_id(unit_id)
        return next((u for u in self.units if u.unit_id == wanted), None)

    def count(self, kind: UnitKind) -> int:
        return sum(1 for u in self.units if u.kind == kind)

    def with_unit(self, unit: CustodyUnit) -> tuple[CustodyUnit, ...]:
        if self.unit(unit.unit_id) is None:
            return (*self.units, unit)
        return tuple(unit if u.unit_id == unit.unit_id else u for u in self.units)

    @property
    def vein_to_vein_days(self) -> float | None:
        """First collection to infusion, in days; None until the product is infused."""
        collected = [u.collected_at for u in self.units if u.collected_at is not None]
        infused = [e.at for u in self.units for e in u.timeline if e.step == "infused"]
        if not collected or not infused:
            return None
        return (infused[0] - min(collected)).total_seconds() / 86_400

    @property
    def in_force(self) -> bool:
        """The chain (and its bedside gate) applies once any unit of the subject exists."""
        return bool(self.units)
