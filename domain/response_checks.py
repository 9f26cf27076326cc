"""What a completed visit must carry under the protocol's ``[response]`` section.

The registered Cheson category is refused at the baseline visit (Day 0) and required after it;
follow-up visits carry the disease's own activity measure(s) and the glucocorticoid dose.
Every refusal names the field the site must fix.
"""

from __future__ import annotations

from domain.errors import ValueOutOfRange
from domain.response import DiseaseActivity, ResponseRules, missing_activity
from domain.values import Disease, Response

__all__ = ["check_activity", "check_response", "check_visit_assessment"]


def check_response(rules: ResponseRules | None, code: str, response: Response | None) -> None:
    """The Cheson category: refused at the baseline visit, required at every other visit."""
    if rules is not None and code == rules.baseline_visit:
        if response is not None:
            raise ValueOutOfRange(
                f"{code} is the baseline (the infusion day): no response is assessed there; "
                "leave response empty",
                field="response",
            )
        return
    if response is None:
        raise ValueOutOfRange(
            f"response is required at {code} (CR, PR, SD, PD or NE)", field="response"
        )


def check_visit_assessment(
    rules: ResponseRules | None,
    disease: Disease,
    code: str,
    response: Response | None,
    activity: DiseaseActivity | None,
    glucocorticoid_mg_per_day: float | None,
) -> None:
    """What a completed visit must carry: no response at the baseline visit; after it, the
    Cheson category, the disease's activity measure(s) and the glucocorticoid dose."""
    check_response(rules, code, response)
    if rules is None:
        if activity is not None or glucocorticoid_mg_per_day is not None:
            field = "activity" if activity is not None else "glucocorticoid_mg_per_day"
            raise ValueOutOfRange(
                "this protocol version records no disease activity at visits", field=field
            )
        return
    check_activity(rules, disease, code, activity)
    if code == rules.baseline_visit:
        return  # activity and dose may be noted at the baseline; nothing is derived there
    if glucocorticoid_mg_per_day is None:
        raise ValueOutOfRange(
            f"{code} needs the glucocorticoid dose (prednisone equivalent, mg/day; 0 if none)",
            field="glucocorticoid_mg_per_day",
        )


def check_activity(
    rules: ResponseRules, disease: Disease, code: str, activity: DiseaseActivity | None
) -> None:
    """Only the disease's own measures, and all of them after the baseline visit."""
    own = rules.fields_for(disease)
    foreign = [
        name
        for name in DiseaseActivity.model_fields
        if activity is not None and getattr(activity, name) is not None and name not in own
    ]
    if foreign:
        raise ValueOutOfRange(
            f"{foreign[0]} is not a {disease} measure; {disease} visits record {', '.join(own)}",
            field=f"activity.{foreign[0]}",
        )
    if code == rules.baseline_visit:
        return
    missing = missing_activity(rules, disease, activity)
    if missing:
        raise ValueOutOfRange(
            f"{code} needs the {disease} activity measure {missing[0].split('.')[1]} "
            f"({disease} visits record {', '.join(own)})",
            field=missing[0],
        )
