"""Chain-of-custody rules as protocol data: facility codes, release specification, temperature
ranges and time limits. The registered record is silent on all of these; each is a
``site_default`` the site replaces by issuing a new protocol version."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AcceptanceLimits", "CustodyRules", "SlotRules", "TemperatureRange"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AcceptanceLimits(_Frozen):
    """Lot release specification checked against the certificate of analysis."""

    viability_pct_min: float = Field(ge=0, le=100)
    car_positive_pct_min: float = Field(ge=0, le=100)
    vcn_copies_per_cell_max: float = Field(gt=0)
    endotoxin_eu_per_ml_max: float = Field(gt=0)
    # Sterility, mycoplasma and replication-competent lentivirus must read "negative".


class TemperatureRange(_Frozen):
    min_c: float | None = None
    max_c: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> TemperatureRange:
        if self.min_c is None and self.max_c is None:
            raise ValueError("a temperature range needs min_c, max_c or both")
        if self.min_c is not None and self.max_c is not None and self.min_c > self.max_c:
            raise ValueError("min_c exceeds max_c")
        return self

    def holds(self, celsius: float) -> bool:
        low_ok = self.min_c is None or celsius >= self.min_c
        high_ok = self.max_c is None or celsius <= self.max_c
        return low_ok and high_ok

    def describe(self) -> str:
        if self.min_c is None:
            return f"≤ {self.max_c:g} °C"
        if self.max_c is None:
            return f"≥ {self.min_c:g} °C"
        return f"{self.min_c:g}–{self.max_c:g} °C"


class SlotRules(_Frozen):
    """Apheresis and manufacturing capacity and lead times of the site and its manufacturer."""

    apheresis_per_week: int = Field(gt=0)
    manufacturing_per_week: int = Field(gt=0)
    # Earliest apheresis after enrollment (scheduling, venous access, washout).
    days_to_apheresis: int = Field(ge=0)
    manufacturing_days: int = Field(gt=0)
    release_testing_days: int = Field(ge=0)
    shipping_days: int = Field(ge=0)


class CustodyRules(_Frozen):
    site_default: bool = False
    # Site id -> ISBT 128 facility identification number (FIN): a letter and four digits.
    facility_codes: dict[str, str]
    # With True the legacy apheresis/product-release commands are refused and every subject's
    # product must go through the chain and the bedside check; with False the chain (and its
    # bedside gate) is in force for a subject as soon as a unit of theirs is collected.
    require_chain: bool = False
    fresh_to_manufacturing_hours: int = Field(gt=0)
    thaw_to_infusion_minutes: int = Field(gt=0)
    # A weight at the bedside that differs from the plan's by more than this is a mismatch.
    bedside_weight_tolerance: float = Field(gt=0, lt=1)
    fresh_temperature: TemperatureRange
    cryopreserved_temperature: TemperatureRange
    acceptance: AcceptanceLimits
    slots: SlotRules | None = None

    @model_validator(mode="after")
    def _codes_are_fins(self) -> CustodyRules:
        for site, code in self.facility_codes.items():
            if len(code) != 5 or not code[0].isalpha() or not code[0].isupper():
                raise ValueError(f"facility code of {site} must be a letter and four digits")
            if not code[1:].isdigit():
                raise ValueError(f"facility code of {site} must be a letter and four digits")
        return self
