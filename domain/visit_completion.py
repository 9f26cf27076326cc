"""The event a completed main-study visit records: the Cheson category and, under protocols with
a ``[response]`` section, the disease activity and the disease-specific responses derived from it.
"""

from __future__ import annotations

from domain import commands as c
from domain import events as e
from domain.errors import ValueOutOfRange
from domain.protocol import Protocol
from domain.response import DerivedResponse, derive_responses
from domain.response_checks import check_activity, check_visit_assessment
from domain.state import SubjectState

__all__ = ["ASSESSED_FIELDS", "check_assessment_correction", "rederived", "visit_completed"]


def visit_completed(s: SubjectState, cmd: c.CompleteVisit, p: Protocol) -> e.VisitCompleted:
    """Raises a DomainError naming the field when the visit lacks what it must carry."""
    assert s.disease is not None  # registered before any visit
    rules = p.response
    check_visit_assessment(
        rules, s.disease, cmd.code, cmd.response, cmd.activity, cmd.glucocorticoid_mg_per_day
    )
    if rules is None:
        # Exactly the schema-1 event of protocols written before responses were defined.
        return e.VisitCompleted(code=cmd.code, completed_on=cmd.completed_on, response=cmd.response)
    derived: tuple[DerivedResponse, ...] = ()
    if cmd.code != rules.baseline_visit:
        derived = derive_responses(
            rules, s.disease, cmd.activity, cmd.glucocorticoid_mg_per_day, s.response_baseline
        )
    return e.VisitCompleted(
        schema_version=2,
        code=cmd.code,
        completed_on=cmd.completed_on,
        response=cmd.response,
        activity=cmd.activity,
        glucocorticoid_mg_per_day=cmd.glucocorticoid_mg_per_day,
        responses=derived,
    )


# Visit fields whose correction changes the disease-specific responses.
ASSESSED_FIELDS = ("activity", "glucocorticoid_mg_per_day")


def check_assessment_correction(
    s: SubjectState, cmd: c.CompleteVisit, field: str, p: Protocol
) -> None:
    """A corrected activity or dose is held to what the visit must carry."""
    assert s.disease is not None
    if p.response is None:
        raise ValueOutOfRange(
            "this protocol version records no disease activity at visits", field="field"
        )
    if field == "activity":
        check_activity(p.response, s.disease, cmd.code, cmd.activity)
    elif cmd.code != p.response.baseline_visit and cmd.glucocorticoid_mg_per_day is None:
        raise ValueOutOfRange(
            f"{cmd.code} needs the glucocorticoid dose (prednisone equivalent, mg/day; 0 if none)",
            field="new_value",
        )


def rederived(
    s: SubjectState, cmd: c.CompleteVisit, field: str, p: Protocol
) -> tuple[DerivedResponse, ...] | None:
    """The responses a corrected activity or dose gives; None when nothing is derived again."""
    rules = p.response
    if field not in ASSESSED_FIELDS or rules is None or cmd.code == rules.baseline_visit:
        return None
    assert s.disease is not None
    return derive_responses(
        rules, s.disease, cmd.activity, cmd.glucocorticoid_mg_per_day, s.response_baseline
    )
