"""Typed search attributes and the current-details line of a subject's workflow.

Operators filter subjects in the Temporal UI and with `temporal workflow list --query`
by where they stand. Nothing here is PHI: the phase, disease group, dose level, site and the
next due date, never a birth date, sex or a clinical value.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from domain.deadlines import Deadline
from domain.state import SubjectState

__all__ = [
    "SEARCH_ATTRIBUTES",
    "TRIAL_DISEASE",
    "TRIAL_DOSE_LEVEL",
    "TRIAL_NEXT_DUE",
    "TRIAL_PHASE",
    "TRIAL_SITE",
    "current_details",
    "dev_server_arguments",
    "subject_search_attributes",
]

TRIAL_PHASE = SearchAttributeKey.for_keyword("TrialPhase")
TRIAL_DISEASE = SearchAttributeKey.for_keyword("TrialDisease")
TRIAL_DOSE_LEVEL = SearchAttributeKey.for_keyword("TrialDoseLevel")
TRIAL_SITE = SearchAttributeKey.for_keyword("TrialSite")
TRIAL_NEXT_DUE = SearchAttributeKey.for_datetime("TrialNextDue")

SEARCH_ATTRIBUTES = (TRIAL_PHASE, TRIAL_DISEASE, TRIAL_DOSE_LEVEL, TRIAL_SITE, TRIAL_NEXT_DUE)

_TYPE_NAMES = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}


def dev_server_arguments() -> list[str]:
    """`--search-attribute Name=Type` for `temporal server start-dev`."""
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={_TYPE_NAMES[key.indexed_value_type.name]}"]
    return args


def subject_search_attributes(
    state: SubjectState, deadline: Deadline | None
) -> tuple[SearchAttributeUpdate[str] | SearchAttributeUpdate[datetime], ...]:
    """Every attribute's value now; a missing value unsets it (the next due date once nothing
    is due)."""
    text: list[tuple[SearchAttributeKey[str], str | None]] = [
        (TRIAL_PHASE, state.phase.value),
        (TRIAL_DISEASE, state.disease),
        (TRIAL_DOSE_LEVEL, state.dose_level),
        (TRIAL_SITE, state.site_id),
    ]
    updates: list[SearchAttributeUpdate[str] | SearchAttributeUpdate[datetime]] = [
        key.value_set(value) if value is not None else key.value_unset() for key, value in text
    ]
    updates.append(
        TRIAL_NEXT_DUE.value_set(deadline.due_at)
        if deadline is not None
        else TRIAL_NEXT_DUE.value_unset()
    )
    return tuple(updates)


def current_details(state: SubjectState, deadline: Deadline | None) -> str:
    """Markdown shown in the Temporal UI: where the subject stands and what the workflow awaits."""
    lines = [f"**Phase:** {state.phase.value}"]
    if state.dose_level:
        lines.append(f"**Dose level:** {state.dose_level}")
    if deadline is not None:
        lines.append(
            f"**Waiting for:** staff commands, or `{deadline.command.type}` "
            f"due {deadline.due_at:%Y-%m-%d %H:%M} UTC"
        )
    elif state.phase.is_terminal:
        lines.append("**Waiting for:** nothing; participation has ended")
    else:
        lines.append("**Waiting for:** staff commands")
    return "  \n".join(lines)
