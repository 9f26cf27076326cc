"""The study's two forms: a subject's dose-level slot request and the PI's safety review.

Pure: which form a user is offered, with what choices, and how input and refusals map to the
fields they are about. The routes in web.study_pages send the commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from pydantic import ValidationError

from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.study import SignSafetyReview
from web.study_view import StudyView

__all__ = [
    "REVIEW_DECISIONS",
    "REVIEW_FIELDS",
    "SLOT_ROLES",
    "ReviewForm",
    "SlotForm",
    "field_errors",
    "parse_review",
    "review_form",
    "slot_form",
]

# Read from the command, so the form offers exactly the decisions the domain accepts.
REVIEW_DECISIONS: tuple[str, ...] = tuple(
    str(d) for d in get_args(SignSafetyReview.model_fields["decision"].annotation)
)
# Mirrors domain.study's roles for request_slot, to hide the form from others; the workflow
# still decides.
SLOT_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI})
REVIEW_FIELDS = ("dose_level", "decision", "summary")


@dataclass(frozen=True, slots=True)
class SlotForm:
    dose_levels: tuple[str, ...]
    value: str
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReviewForm:
    dose_levels: tuple[str, ...]
    decisions: tuple[str, ...]
    values: Mapping[str, str]
    errors: Mapping[str, str] = field(default_factory=dict)


def slot_form(
    state: SubjectState | None,
    actor: Actor,
    protocol: Protocol,
    *,
    study_configured: bool,
    value: str | None = None,
    errors: Mapping[str, str] | None = None,
) -> SlotForm | None:
    """Offered for an enrolled subject without a slot; the enrolled level comes preselected."""
    if not study_configured or state is None or actor.role not in SLOT_ROLES:
        return None
    if state.dose_level is None or state.slot_dose_level is not None:
        return None
    levels = tuple(level.code for level in protocol.dose_levels)
    return SlotForm(levels, value or state.dose_level, dict(errors or {}))


def review_form(
    view: StudyView,
    actor: Actor,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> ReviewForm | None:
    """Only the PI signs; the first level waiting for a review comes preselected.

    Hidden while the study stream is empty (nothing can be eligible yet), unless it carries
    the refusal of a review just submitted.
    """
    if actor.role is not Role.PI or not (view.running or errors):
        return None
    pending = view.reviews_pending[0] if view.reviews_pending else ""
    shown = {"dose_level": pending, "decision": "", "summary": "", **(values or {})}
    levels = tuple(c.dose_level for c in view.cohorts)
    return ReviewForm(levels, REVIEW_DECISIONS, shown, dict(errors or {}))


def parse_review(values: Mapping[str, str], now: datetime) -> SignSafetyReview:
    """Checked here first so a blank summary is named at its field, not by the workflow."""
    return SignSafetyReview.model_validate(
        {"occurred_at": now, **{name: values.get(name, "").strip() for name in REVIEW_FIELDS}}
    )


def field_errors(exc: ValidationError | DomainError, fields: tuple[str, ...]) -> dict[str, str]:
    """Field -> message; what no field of the form shows goes to the form's top (``__all__``)."""
    if isinstance(exc, DomainError):
        return {exc.field if exc.field in fields else "__all__": exc.message}
    errors: dict[str, str] = {}
    for item in exc.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        errors.setdefault(name if name in fields else "__all__", item["msg"])
    return errors
