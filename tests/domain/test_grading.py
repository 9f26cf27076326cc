"""ASTCT 2019 CRS and ICANS grading at every boundary of both tables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.grading import (
    Consciousness,
    CrsComponents,
    Hypotension,
    Hypoxia,
    IcansComponents,
    IntracranialPressure,
    Seizure,
    crs_grade,
    icans_grade,
)

# -- CRS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "grade"),
    [(37.9, 0), (37.99, 0), (38.0, 1), (38.01, 1), (40.5, 1)],
)
def test_fever_starts_at_38_0_celsius(temperature: float, grade: int) -> None:
    assert crs_grade(CrsComponents(max_temperature_c=temperature)) == grade


@pytest.mark.parametrize(
    ("hypotension", "grade"),
    [
        (Hypotension.NONE, 1),
        (Hypotension.NO_VASOPRESSOR, 2),
        (Hypotension.ONE_VASOPRESSOR, 3),
        (Hypotension.MULTIPLE_VASOPRESSORS, 4),
    ],
)
def test_crs_hypotension_sets_the_grade_with_fever(hypotension: Hypotension, grade: int) -> None:
    assert crs_grade(CrsComponents(max_temperature_c=38.5, hypotension=hypotension)) == grade


@pytest.mark.parametrize(
    ("hypoxia", "grade"),
    [
        (Hypoxia.NONE, 1),
        (Hypoxia.LOW_FLOW, 2),
        (Hypoxia.HIGH_FLOW, 3),
        (Hypoxia.POSITIVE_PRESSURE, 4),
    ],
)
def test_crs_hypoxia_sets_the_grade_with_fever(hypoxia: Hypoxia, grade: int) -> None:
    assert crs_grade(CrsComponents(max_temperature_c=38.5, hypoxia=hypoxia)) == grade


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "grade"),
    [
        (Hypotension.NO_VASOPRESSOR, Hypoxia.HIGH_FLOW, 3),
        (Hypotension.MULTIPLE_VASOPRESSORS, Hypoxia.LOW_FLOW, 4),
        (Hypotension.ONE_VASOPRESSOR, Hypoxia.LOW_FLOW, 3),
        (Hypotension.NO_VASOPRESSOR, Hypoxia.POSITIVE_PRESSURE, 4),
    ],
)
def test_crs_grade_is_the_worse_of_hypotension_and_hypoxia(
    hypotension: Hypotension, hypoxia: Hypoxia, grade: int
) -> None:
    components = CrsComponents(max_temperature_c=39.0, hypotension=hypotension, hypoxia=hypoxia)
    assert crs_grade(components) == grade


def test_hypotension_and_hypoxia_without_fever_are_not_crs() -> None:
    components = CrsComponents(
        max_temperature_c=37.2,
        hypotension=Hypotension.MULTIPLE_VASOPRESSORS,
        hypoxia=Hypoxia.POSITIVE_PRESSURE,
    )
    assert crs_grade(components) == 0


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "grade"),
    [
        (Hypotension.NONE, Hypoxia.NONE, 1),
        (Hypotension.NO_VASOPRESSOR, Hypoxia.NONE, 2),
        (Hypotension.NONE, Hypoxia.HIGH_FLOW, 3),
        (Hypotension.MULTIPLE_VASOPRESSORS, Hypoxia.NONE, 4),
    ],
)
def test_fever_masked_by_antipyretics_or_tocilizumab_is_not_required(
    hypotension: Hypotension, hypoxia: Hypoxia, grade: int
) -> None:
    components = CrsComponents(
        max_temperature_c=36.8,
        hypotension=hypotension,
        hypoxia=hypoxia,
        fever_masked_by_treatment=True,
    )
    assert crs_grade(components) == grade


def test_death_due_to_crs_is_grade_5() -> None:
    assert crs_grade(CrsComponents(max_temperature_c=39.0, fatal=True)) == 5


@pytest.mark.parametrize("temperature", [29.9, 45.1])
def test_implausible_temperatures_are_refused(temperature: float) -> None:
    with pytest.raises(ValidationError):
        CrsComponents(max_temperature_c=temperature)


# -- ICANS --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ice", "grade"),
    [
        (10, 0),
        (9, 1),
        (8, 1),
        (7, 1),
        (6, 2),
        (5, 2),
        (4, 2),
        (3, 2),
        (2, 3),
        (1, 3),
        (0, 3),
    ],
)
def test_ice_score_boundaries_for_an_awake_patient(ice: int, grade: int) -> None:
    assert icans_grade(IcansComponents(ice_score=ice)) == grade


def test_ice_score_zero_because_unarousable_is_grade_4() -> None:
    components = IcansComponents(ice_score=0, consciousness=Consciousness.UNAROUSABLE)
    assert icans_grade(components) == 4


def test_unarousable_patient_cannot_have_a_positive_ice_score() -> None:
    with pytest.raises(ValidationError):
        IcansComponents(ice_score=3, consciousness=Consciousness.UNAROUSABLE)


@pytest.mark.parametrize("ice", [-1, 11])
def test_ice_score_outside_0_to_10_is_refused(ice: int) -> None:
    with pytest.raises(ValidationError):
        IcansComponents(ice_score=ice)


@pytest.mark.parametrize(
    ("consciousness", "grade"),
    [
        (Consciousness.NORMAL, 0),
        (Consciousness.AWAKENS_SPONTANEOUSLY, 1),
        (Consciousness.AWAKENS_TO_VOICE, 2),
        (Consciousness.AWAKENS_TO_TACTILE, 3),
        (Consciousness.UNAROUSABLE, 4),
    ],
)
def test_depressed_consciousness_grades(consciousness: Consciousness, grade: int) -> None:
    # The ICE test is not always done alongside; consciousness alone sets this domain.
    assert icans_grade(IcansComponents(consciousness=consciousness)) == grade


@pytest.mark.parametrize(
    ("seizure", "grade"),
    [(Seizure.NONE, 0), (Seizure.RESOLVES_RAPIDLY, 3), (Seizure.LIFE_THREATENING, 4)],
)
def test_seizure_grades(seizure: Seizure, grade: int) -> None:
    assert icans_grade(IcansComponents(ice_score=10, seizure=seizure)) == grade


@pytest.mark.parametrize(("weakness", "grade"), [(False, 0), (True, 4)])
def test_deep_focal_motor_weakness_is_grade_4(weakness: bool, grade: int) -> None:
    assert icans_grade(IcansComponents(deep_focal_motor_weakness=weakness)) == grade


@pytest.mark.parametrize(
    ("icp", "grade"),
    [
        (IntracranialPressure.NONE, 0),
        (IntracranialPressure.FOCAL_EDEMA, 3),
        (IntracranialPressure.DIFFUSE_EDEMA, 4),
    ],
)
def test_raised_icp_or_cerebral_edema_grades(icp: IntracranialPressure, grade: int) -> None:
    assert icans_grade(IcansComponents(intracranial_pressure=icp)) == grade


def test_icans_grade_is_the_most_severe_domain_ice_3_with_seizure_is_grade_3() -> None:
    # The worked example of the consensus paper.
    components = IcansComponents(ice_score=3, seizure=Seizure.RESOLVES_RAPIDLY)
    assert icans_grade(components) == 3


def test_icans_mild_ice_with_diffuse_edema_is_grade_4() -> None:
    components = IcansComponents(
        ice_score=8,
        consciousness=Consciousness.AWAKENS_TO_VOICE,
        intracranial_pressure=IntracranialPressure.DIFFUSE_EDEMA,
    )
    assert icans_grade(components) == 4


def test_no_findings_is_no_icans() -> None:
    assert icans_grade(IcansComponents()) == 0


def test_death_due_to_icans_is_grade_5() -> None:
    assert icans_grade(IcansComponents(ice_score=0, fatal=True)) == 5
