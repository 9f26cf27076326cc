"""CRS and ICANS grades by the ASTCT 2019 consensus (Lee et al., BBMT 25:625-638).

Staff record the components they observed; the grade is always computed here, never typed in,
so two sites that saw the same patient cannot disagree on the number.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from domain.inputs import InputModel

__all__ = [
    "FEVER_CELSIUS",
    "Consciousness",
    "CrsComponents",
    "Hypotension",
    "Hypoxia",
    "IcansComponents",
    "IntracranialPressure",
    "Seizure",
    "crs_grade",
    "icans_grade",
]

# ASTCT: fever is a temperature of at least 38.0 °C not attributable to any other cause.
FEVER_CELSIUS = 38.0


class Hypotension(StrEnum):
    NONE = "none"
    NO_VASOPRESSOR = "no_vasopressor"
    ONE_VASOPRESSOR = "one_vasopressor"  # with or without vasopressin
    MULTIPLE_VASOPRESSORS = "multiple_vasopressors"  # excluding vasopressin


class Hypoxia(StrEnum):
    NONE = "none"
    LOW_FLOW = "low_flow"  # nasal cannula ≤ 6 L/min or blow-by
    HIGH_FLOW = "high_flow"  # nasal cannula > 6 L/min, facemask, non-rebreather, Venturi
    POSITIVE_PRESSURE = "positive_pressure"  # CPAP, BiPAP, intubation and ventilation


class Consciousness(StrEnum):
    NORMAL = "normal"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TACTILE = "awakens_to_tactile"
    # Unarousable, or arousable only by vigorous or repetitive tactile stimuli; stupor; coma.
    UNAROUSABLE = "unarousable"


class Seizure(StrEnum):
    NONE = "none"
    # Any clinical seizure that resolves rapidly, or non-convulsive EEG seizures that resolve
    # with intervention.
    RESOLVES_RAPIDLY = "resolves_rapidly"
    # Prolonged (> 5 min) life-threatening seizure, or repetitive seizures without return to
    # baseline in between.
    LIFE_THREATENING = "life_threatening"


class IntracranialPressure(StrEnum):
    NONE = "none"
    FOCAL_EDEMA = "focal_edema"  # focal/local oedema on neuroimaging
    # Diffuse oedema on imaging; decerebrate/decorticate posturing; CN VI palsy; papilledema;
    # Cushing's triad.
    DIFFUSE_EDEMA = "diffuse_edema"


class _Components(InputModel):
    """Typed in by staff: finite numbers and printable text only (InputModel)."""

    # Grade 5 is death due to the syndrome with no other principal cause.
    fatal: bool = False


class CrsComponents(_Components):
    max_temperature_c: float = Field(ge=30.0, le=45.0)
    hypotension: Hypotension = Hypotension.NONE
    hypoxia: Hypoxia = Hypoxia.NONE
    # Once antipyretics or anti-cytokine therapy (tocilizumab, steroids) are given, fever is no
    # longer required: grading follows hypotension and hypoxia.
    fever_masked_by_treatment: bool = False

    @property
    def has_fever(self) -> bool:
        return self.max_temperature_c >= FEVER_CELSIUS or self.fever_masked_by_treatment


class IcansComponents(_Components):
    # Immune effector cell-associated encephalopathy score, 0–10; None when not assessed.
    ice_score: int | None = Field(default=None, ge=0, le=10)
    consciousness: Consciousness = Consciousness.NORMAL
    seizure: Seizure = Seizure.NONE
    # Deep focal motor weakness such as hemiparesis or paraparesis.
    deep_focal_motor_weakness: bool = False
    intracranial_pressure: IntracranialPressure = IntracranialPressure.NONE

    @model_validator(mode="after")
    def _unarousable_scores_zero(self) -> IcansComponents:
        # An unarousable patient cannot do the ICE test; a score > 0 contradicts the record.
        if self.consciousness is Consciousness.UNAROUSABLE and self.ice_score not in (None, 0):
            raise ValueError("an unarousable patient cannot have an ICE score above 0")
        return self


_HYPOTENSION_GRADE = {
    Hypotension.NONE: 1,
    Hypotension.NO_VASOPRESSOR: 2,
    Hypotension.ONE_VASOPRESSOR: 3,
    Hypotension.MULTIPLE_VASOPRESSORS: 4,
}
_HYPOXIA_GRADE = {
    Hypoxia.NONE: 1,
    Hypoxia.LOW_FLOW: 2,
    Hypoxia.HIGH_FLOW: 3,
    Hypoxia.POSITIVE_PRESSURE: 4,
}
_CONSCIOUSNESS_GRADE = {
    Consciousness.NORMAL: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_TO_TACTILE: 3,
    Consciousness.UNAROUSABLE: 4,
}
_SEIZURE_GRADE = {Seizure.NONE: 0, Seizure.RESOLVES_RAPIDLY: 3, Seizure.LIFE_THREATENING: 4}
_ICP_GRADE = {
    IntracranialPressure.NONE: 0,
    IntracranialPressure.FOCAL_EDEMA: 3,
    IntracranialPressure.DIFFUSE_EDEMA: 4,
}


def crs_grade(components: CrsComponents) -> int:
    """0 (no CRS) to 5; the worst of hypotension and hypoxia, given fever."""
    if components.fatal:
        return 5
    if not components.has_fever:
        # Without fever (or treatment that masks it) the findings are not CRS by definition.
        return 0
    return max(_HYPOTENSION_GRADE[components.hypotension], _HYPOXIA_GRADE[components.hypoxia])


def _ice_grade(score: int | None, consciousness: Consciousness) -> int:
    if score is None or score == 10:
        return 0
    if score >= 7:
        return 1
    if score >= 3:
        return 2
    if score >= 1:
        return 3
    # ICE 0: grade 3 when awake (e.g. global aphasia), grade 4 when unarousable.
    return 4 if consciousness is Consciousness.UNAROUSABLE else 3


def icans_grade(components: IcansComponents) -> int:
    """0 (no ICANS) to 5; the most severe of the five domains."""
    if components.fatal:
        return 5
    return max(
        _ice_grade(components.ice_score, components.consciousness),
        _CONSCIOUSNESS_GRADE[components.consciousness],
        _SEIZURE_GRADE[components.seizure],
        4 if components.deep_focal_motor_weakness else 0,
        _ICP_GRADE[components.intracranial_pressure],
    )
