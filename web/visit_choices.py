"""The visit forms offer the subject's own planned visits instead of a free-text code.

A typed code could name a visit the subject does not have or has already completed; the domain
would refuse it, but only after a round trip. A select of what is open avoids the mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from domain.protocol import Protocol
from domain.response import DiseaseActivity
from domain.values import Disease, ScheduledVisit, VisitStatus
from web.form_fields import FormField, FormSpec, fields_of

__all__ = ["VISIT_FORMS", "visit_label", "with_activity_fields", "with_visit_choices"]

_MEASURE_LABELS = {
    "sledai_2k": "SLEDAI-2K",
    "essdai": "ESSDAI",
    "mrss": "mRSS (modified Rodnan skin score)",
    "ild_status": "ILD status against baseline",
    "tis": "TIS (ACR/EULAR 2016 total improvement score)",
    "bvas": "BVAS v3",
}

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


def with_activity_fields(spec: FormSpec, disease: Disease | None, protocol: Protocol) -> FormSpec:
    """The visit form with the subject's disease activity measures and glucocorticoid dose.

    Only the disease's own measures are offered (protocol ``[response].measures``). None is
    required by the form itself: Day 0, the baseline, takes none of them (and no response), and
    a follow-up visit without one is refused by the domain, naming the field beside its input.
    """
    if spec.command != "complete_visit":
        return spec
    rules = protocol.response
    kept = [f for f in spec.fields if f.name not in ("activity", "glucocorticoid_mg_per_day")]
    if rules is None or disease is None:
        return dataclasses.replace(spec, fields=tuple(kept))
    only = tuple(name for name in DiseaseActivity.model_fields if name in rules.fields_for(disease))
    measures = [
        dataclasses.replace(f, required=False)
        for f in fields_of(DiseaseActivity, prefix="activity.", only=only, labels=_MEASURE_LABELS)
    ]
    dose = FormField(
        "glucocorticoid_mg_per_day",
        "Glucocorticoid dose, mg/day prednisone equivalent (0 if none)",
        "number",
        required=False,
    )
    response = next(f for f in kept if f.name == "response")
    response = dataclasses.replace(
        response, label=f"Response, Cheson 2007 (none at {rules.baseline_visit}, the baseline)"
    )
    at = next(i for i, f in enumerate(kept) if f.name == "response")
    fields = [*kept[:at], response, *measures, dose, *kept[at + 1 :]]
    return dataclasses.replace(spec, fields=tuple(fields))
