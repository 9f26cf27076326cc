"""What a simulated site records at a completed visit: the Cheson category and, under protocols
with a ``[response]`` section, disease activity consistent with it and a tapering dose.

Derived from the category and the screening record without drawing random numbers, so a seeded
cohort draws the same stream it did before activity was recorded.
"""

from __future__ import annotations

from typing import Any

from domain.protocol import Protocol
from domain.screening import ScreeningRecord
from domain.values import Response

__all__ = ["visit_fields"]

# Share of the screening score left at the visit, by Cheson category.
_REMAINING: dict[str, float] = {"CR": 0.0, "PR": 0.45, "SD": 0.85, "PD": 1.2, "NE": 0.85}
_ILD: dict[str, str] = {"CR": "improved", "PR": "improved", "SD": "stable", "PD": "worsened"}
_TIS: dict[str, float] = {"CR": 65.0, "PR": 42.5, "SD": 22.5, "PD": 5.0, "NE": 22.5}
# Prednisone-equivalent mg/day as the taper goes on after the infusion.
_TAPER: dict[str, float] = {"M1": 15.0, "M2": 10.0, "M3": 7.5, "M6": 5.0, "M9": 5.0}


def _score(baseline: int | None, response: str, top: int) -> int:
    return min(top, round((baseline or 0) * _REMAINING[response]))


def _activity(record: ScreeningRecord, response: str) -> dict[str, Any]:
    match record.disease:
        case "SLE":
            return {"sledai_2k": _score(record.sledai, response, 105)}
        case "SS":
            return {"essdai": _score(record.essdai, response, 123)}
        case "SSc":
            ild = _ILD.get(response, "stable")
            return {"mrss": _score(record.mrss, response, 51), "ild_status": ild}
        case "DM":
            return {"tis": _TIS[response]}
        case _:
            return {"bvas": _score(record.bvas, response, 63)}


def visit_fields(
    protocol: Protocol, record: ScreeningRecord, code: str, response: Response
) -> dict[str, Any]:
    """The CompleteVisit fields besides code and dates."""
    rules = protocol.response
    if rules is None:
        return {"response": response}
    if code == rules.baseline_visit:
        return {}
    return {
        "response": response,
        "activity": _activity(record, response),
        "glucocorticoid_mg_per_day": _TAPER.get(code, 2.5),
    }
