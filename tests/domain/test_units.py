"""Unit conversion of screening labs, and calendar-exact month and age arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.screening import Bilirubin, Hemoglobin, LiverEnzyme, Platelets
from domain.units import (
    BILIRUBIN_UNITS,
    HEMOGLOBIN_UNITS,
    PLATELET_UNITS,
    add_months,
    add_years,
    age_in_years,
    bilirubin_umol_per_l,
    canonical_unit,
    hemoglobin_g_per_l,
    platelets_10e9_per_l,
)


@pytest.mark.parametrize(
    ("raw", "accepted", "canonical"),
    [
        ("g/dl", HEMOGLOBIN_UNITS, "g/dL"),
        (" G / L ", HEMOGLOBIN_UNITS, "g/L"),
        ("mmol/l", HEMOGLOBIN_UNITS, "mmol/L"),
        ("x10^9/L", PLATELET_UNITS, "10^9/L"),
        ("×10⁹/L", PLATELET_UNITS, "10^9/L"),
        ("10³/µL", PLATELET_UNITS, "10^3/uL"),
        ("K/uL", PLATELET_UNITS, "10^3/uL"),
        ("µmol/L", BILIRUBIN_UNITS, "umol/L"),
        ("x ULN", BILIRUBIN_UNITS, "xULN"),
    ],
)
def test_lab_spellings_of_a_unit_map_to_the_canonical_unit(
    raw: str, accepted: tuple[str, ...], canonical: str
) -> None:
    assert canonical_unit(raw, accepted) == canonical


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [("mg/dL", HEMOGLOBIN_UNITS), ("cells/mm3", PLATELET_UNITS), ("mmol/L", BILIRUBIN_UNITS)],
)
def test_unknown_or_wrong_kind_of_unit_is_rejected_listing_accepted_units(
    raw: str, accepted: tuple[str, ...]
) -> None:
    with pytest.raises(
        ValueError, match="accepted units: " + ", ".join(accepted).replace("^", r"\^")
    ):
        canonical_unit(raw, accepted)


@pytest.mark.parametrize(
    ("value", "unit", "g_per_l"),
    [(95.0, "g/L", 95.0), (9.5, "g/dL", 95.0), (6.0, "g/dL", 60.0), (6.0, "mmol/L", 96.687)],
)
def test_hemoglobin_converts_to_g_per_l(value: float, unit: str, g_per_l: float) -> None:
    assert hemoglobin_g_per_l(value, unit) == pytest.approx(g_per_l)  # type: ignore[arg-type]
    assert Hemoglobin(value=value, unit=unit).g_per_l == pytest.approx(g_per_l)


def test_platelets_per_microlitre_in_thousands_equal_10e9_per_litre() -> None:
    assert platelets_10e9_per_l(142.0, "10^3/uL") == 142.0
    assert Platelets(value=142, unit="10^3/uL").count_10e9_per_l == 142.0


def test_bilirubin_of_1_mg_per_dl_is_17_104_umol_per_l() -> None:
    assert bilirubin_umol_per_l(1.0, "mg/dL") == pytest.approx(17.104)
    assert bilirubin_umol_per_l(20.0, "umol/L") == 20.0


def test_liver_enzyme_in_u_per_l_is_divided_by_the_labs_uln() -> None:
    assert LiverEnzyme(value=120, unit="U/L", uln=40).times_uln() == pytest.approx(3.0)
    assert LiverEnzyme(value=2.5, unit="xULN").times_uln() == 2.5


def test_liver_enzyme_in_u_per_l_without_uln_is_rejected() -> None:
    with pytest.raises(ValidationError, match="uln"):
        LiverEnzyme(value=120, unit="U/L")


def test_liver_enzyme_given_as_multiple_of_uln_must_not_carry_a_uln() -> None:
    with pytest.raises(ValidationError, match="uln must be omitted"):
        LiverEnzyme(value=1.2, unit="xULN", uln=40)


def test_bilirubin_ratio_is_unit_independent_when_uln_has_another_unit() -> None:
    mixed = Bilirubin(value=1.2, unit="mg/dL", uln=20.5, uln_unit="umol/L")
    assert mixed.times_uln() == pytest.approx(1.2 * 17.104 / 20.5)
    same = Bilirubin(value=34.2, unit="umol/L", uln=17.1)
    assert same.times_uln() == pytest.approx(2.0)


def test_hemoglobin_above_250_g_per_l_is_impossible() -> None:
    with pytest.raises(ValidationError, match="not a possible value"):
        Hemoglobin(value=26, unit="g/dL")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 5, 31), -3, date(2026, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
    ],
)
def test_add_months_is_calendar_exact_and_clamps_to_month_end(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2008, 3, 2), date(2026, 3, 1), 17),
        (date(2008, 3, 2), date(2026, 3, 2), 18),
        (date(1960, 3, 2), date(2026, 3, 1), 65),
        (date(1960, 3, 2), date(2026, 3, 2), 66),
        (date(2004, 2, 29), date(2022, 2, 27), 17),
        (date(2004, 2, 29), date(2022, 2, 28), 18),
        (date(2004, 2, 29), date(2024, 2, 29), 20),
    ],
)
def test_age_counts_completed_calendar_years(birth: date, on: date, age: int) -> None:
    assert age_in_years(birth, on) == age


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_in_years(date(2000, 1, 2), date(2000, 1, 1))


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    offset=st.integers(min_value=0, max_value=40_000),
)
def test_age_agrees_with_add_years_on_every_day(birth: date, offset: int) -> None:
    on = birth + timedelta(days=offset)
    age = age_in_years(birth, on)
    assert add_years(birth, age) <= on < add_years(birth, age + 1)
