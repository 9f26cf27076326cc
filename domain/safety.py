"""Adverse-event vocabulary (CTCAE v5, ICH E2A seriousness) and the protocol's DLT rules."""

from __future__ import annotations

from typing import Literal

from domain.protocol import DltRules

__all__ = [
    "AeKind",
    "AeOutcome",
    "Relatedness",
    "Seriousness",
    "dlt_rule",
]

AeKind = Literal["general", "CRS", "ICANS"]
# WHO-UMC style causality categories.
Relatedness = Literal["unrelated", "unlikely", "possible", "probable", "definite"]
# ICH E2A: any one of these makes an AE serious and starts the expedited-report clock.
Seriousness = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
]
AeOutcome = Literal[
    "not_recovered", "recovering", "recovered", "recovered_with_sequelae", "fatal", "unknown"
]


def dlt_rule(
    rules: DltRules,
    *,
    kind: AeKind,
    grade: int,
    related_to_jy231: Relatedness,
    haematologic: bool,
) -> str | None:
    """The DLT rule an AE meets, in words, or None. Onset-in-window is the caller's check."""
    related = related_to_jy231 in rules.related_attributions
    if kind == "CRS" and grade >= rules.crs_grade_min:
        return f"CRS grade {grade} (≥ {rules.crs_grade_min})"
    if kind == "ICANS" and grade >= rules.icans_grade_min:
        return f"ICANS grade {grade} (≥ {rules.icans_grade_min})"
    if related and grade == 5 and rules.related_grade_5:
        return "grade 5 AE related to JY231"
    if related and not haematologic and grade >= rules.related_non_haematologic_grade_min:
        return (
            f"grade {grade} non-haematologic AE related to JY231 "
            f"(≥ {rules.related_non_haematologic_grade_min})"
        )
    return None
