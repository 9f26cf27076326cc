"""The event a completed main-study visit records: the Cheson category and, under protocols with
a ``[response]`` section, the disease activity and the disease-specific responses derived from it.
"""

from __future__ import annotations

from domain import commands as c
from domain import events as e
from domain.protocol import Protocol
from domain.response import DerivedResponse, check_visit_assessment, derive_responses
from domain.state import SubjectState

__all__ = ["visit_completed"]


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
