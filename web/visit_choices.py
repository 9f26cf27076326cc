"""The visit forms offer the subject's own planned visits instead of a free-text code.

A typed code could name a visit the subject does not have or has already completed; the domain
would refuse it, but only after a round trip. A select of what is open avoids the mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from domain.values import ScheduledVisit, VisitStatus
from web.form_fields import FormField, FormSpec

__all__ = ["VISIT_FORMS", "visit_label", "with_visit_choices"]

# Forms whose ``code`` field names one of the subject's scheduled visits.
VISIT_FORMS = frozenset({"complete_visit", "reschedule_visit"})


def visit_label(visit: ScheduledVisit) -> str:
    window = f"{visit.window_start.isoformat()} – {visit.window_end.isoformat()}"
    return f"{visit.code} · {visit.label} · window {window}"


def with_visit_choices(spec: FormSpec, visits: Iterable[ScheduledVisit]) -> FormSpec:
    """``spec`` with its visit code as a select of the planned visits, in schedule order."""
    if spec.command not in VISIT_FORMS:
        return spec
    planned = sorted((v for v in visits if v.status is VisitStatus.PLANNED), key=lambda v: v.target)
    codes = tuple(v.code for v in planned)
    labels = tuple(visit_label(v) for v in planned)

    def choose(field: FormField) -> FormField:
        if field.name != "code":
            return field
        return dataclasses.replace(
            field, kind="select", options=codes, option_labels=labels, label="Visit"
        )

    return dataclasses.replace(spec, fields=tuple(choose(f) for f in spec.fields))
