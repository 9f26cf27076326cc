"""What a site records when it completes a visit, for tests that walk subjects through follow-up.

Under a protocol with a ``[response]`` section the baseline visit (Day 0) carries no response and
every later visit carries the Cheson category, the disease's activity measure(s) and the day's
glucocorticoid dose; under older protocols every visit carries the category alone.
"""

from __future__ import annotations

from typing import Any

from domain.protocol import Protocol

__all__ = ["SAMPLE_ACTIVITY", "visit_fields"]

# An improvement over the factories' screening scores (SLEDAI-2K 12, ESSDAI 18, mRSS 22, BVAS 19).
SAMPLE_ACTIVITY: dict[str, dict[str, Any]] = {
    "SLE": {"sledai_2k": 4},
    "SS": {"essdai": 8},
    "SSc": {"mrss": 12, "ild_status": "stable"},
    "DM": {"tis": 45.0},
    "ANCA-AAV": {"bvas": 0},
}


def visit_fields(
    protocol: Protocol,
    disease: str,
    code: str,
    response: str | None = "PR",
    glucocorticoid_mg_per_day: float = 5.0,
) -> dict[str, Any]:
    """The CompleteVisit fields besides code and dates."""
    rules = protocol.response
    if rules is None:
        return {"response": response}
    if code == rules.baseline_visit:
        return {}
    return {
        "response": response,
        "activity": SAMPLE_ACTIVITY[disease],
        "glucocorticoid_mg_per_day": glucocorticoid_mg_per_day,
    }
