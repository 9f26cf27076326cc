"""Units of the screening labs, and calendar-exact date arithmetic.

Labs arrive in whatever unit the local laboratory reports; the protocol states its thresholds in
one unit each. Everything is converted here, in one place, so a threshold is never compared with
a number in the wrong unit. Calendar arithmetic lives here too because months and years are
units of time whose length varies: they are never approximated by a fixed number of days.
"""

from __future__ import annotations

import calendar
import unicodedata
from datetime import date
from typing import Final, Literal

__all__ = [
    "BILIRUBIN_UMOL_PER_L_PER_MG_PER_DL",
    "BILIRUBIN_UNITS",
    "EGFR_UNITS",
    "HEMOGLOBIN_G_PER_MMOL",
    "HEMOGLOBIN_UNITS",
    "LIVER_ENZYME_UNITS",
    "PLATELET_UNITS",
    "BilirubinUnit",
    "EgfrUnit",
    "HemoglobinUnit",
    "LiverEnzymeUnit",
    "PlateletUnit",
    "add_months",
    "add_years",
    "age_in_years",
    "bilirubin_umol_per_l",
    "canonical_unit",
    "hemoglobin_g_per_l",
    "platelets_10e9_per_l",
]

HemoglobinUnit = Literal["g/L", "g/dL", "mmol/L"]
PlateletUnit = Literal["10^9/L", "10^3/uL"]
# "xULN" means the value is already a multiple of the laboratory's upper limit of normal.
LiverEnzymeUnit = Literal["xULN", "U/L"]
BilirubinUnit = Literal["xULN", "umol/L", "mg/dL"]
EgfrUnit = Literal["mL/min/1.73m2"]

HEMOGLOBIN_UNITS: Final[tuple[HemoglobinUnit, ...]] = ("g/L", "g/dL", "mmol/L")
PLATELET_UNITS: Final[tuple[PlateletUnit, ...]] = ("10^9/L", "10^3/uL")
LIVER_ENZYME_UNITS: Final[tuple[LiverEnzymeUnit, ...]] = ("xULN", "U/L")
BILIRUBIN_UNITS: Final[tuple[BilirubinUnit, ...]] = ("xULN", "umol/L", "mg/dL")
EGFR_UNITS: Final[tuple[EgfrUnit, ...]] = ("mL/min/1.73m2",)

# Haemoglobin in mmol/L counts haem monomers (Dutch/Scandinavian labs): 16.1145 g per mmol.
HEMOGLOBIN_G_PER_MMOL: Final = 16.1145
# Molar mass of bilirubin 584.66 g/mol: 1 mg/dL = 10 mg/L / 0.58466 mg/umol = 17.104 umol/L.
BILIRUBIN_UMOL_PER_L_PER_MG_PER_DL: Final = 17.104

# Spellings seen on real lab reports, mapped to the canonical unit after normalisation
# (lower case, no spaces, micro sign folded to "u", "×"/"*" folded to "x", "²" to "2").
_ALIASES: Final[dict[str, str]] = {
    "g/l": "g/L",
    "g/dl": "g/dL",
    "10^9/l": "10^9/L",
    "x10^9/l": "10^9/L",
    "10e9/l": "10^9/L",
    # Superscripts fold to digits under NFKC: "10⁹/L" arrives here as "109/l".
    "109/l": "10^9/L",
    "x109/l": "10^9/L",
    "10^3/ul": "10^3/uL",
    "x10^3/ul": "10^3/uL",
    "10e3/ul": "10^3/uL",
    "103/ul": "10^3/uL",
    "x103/ul": "10^3/uL",
    "k/ul": "10^3/uL",
    "xuln": "xULN",
    "uln": "xULN",
    "u/l": "U/L",
    "iu/l": "U/L",
    "umol/l": "umol/L",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "ml/min/1.73m2": "mL/min/1.73m2",
}


def canonical_unit(raw: str, accepted: tuple[str, ...]) -> str:
    """Map a lab's spelling of a unit to one of ``accepted``, or raise ValueError listing them."""
    folded = unicodedata.normalize("NFKC", raw).replace("µ", "u").replace("μ", "u")
    folded = folded.replace("×", "x").replace("*", "x").replace(" ", "").lower()
    unit = _ALIASES.get(folded)
    if unit is None or unit not in accepted:
        raise ValueError(f"unknown unit {raw!r}; accepted units: {', '.join(accepted)}")
    return unit


def hemoglobin_g_per_l(value: float, unit: HemoglobinUnit) -> float:
    if unit == "g/dL":
        return value * 10.0
    if unit == "mmol/L":
        return value * HEMOGLOBIN_G_PER_MMOL
    return value


def platelets_10e9_per_l(value: float, unit: PlateletUnit) -> float:
    # 10^3 per microlitre is 10^3 * 10^6 per litre = 10^9/L: the same number, kept for clarity.
    del unit
    return value


def bilirubin_umol_per_l(value: float, unit: Literal["umol/L", "mg/dL"]) -> float:
    return value * BILIRUBIN_UMOL_PER_L_PER_MG_PER_DL if unit == "mg/dL" else value


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole calendar months (negative goes back).

    A day that does not exist in the target month is clamped to that month's last day
    (31 Jan + 1 month = 28/29 Feb), the usual clinical convention.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))


def add_years(start: date, years: int) -> date:
    return add_months(start, 12 * years)


def age_in_years(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``; a 29 Feb birthday is reached on 28 Feb in common years.

    Defined through ``add_years`` so that age and "at least N years since" agree exactly.
    """
    if on < birth_date:
        raise ValueError(f"{on} is before the birth date {birth_date}")
    years = on.year - birth_date.year
    if add_years(birth_date, years) > on:
        years -= 1
    return years
