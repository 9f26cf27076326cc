"""Who may send which command, and in which phases: the access rules of decide."""

from __future__ import annotations

from domain.actors import Role
from domain.monitoring import MONITORING_PHASES, MONITORING_ROLES
from domain.values import Phase

__all__ = ["ALLOWED_PHASES", "ALLOWED_ROLES"]

_STAFF = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI})
_CLINICIANS = frozenset({Role.INVESTIGATOR, Role.PI})
_PI = frozenset({Role.PI})
_SYSTEM = frozenset({Role.SYSTEM})

ALLOWED_ROLES: dict[str, frozenset[Role]] = {
    "register": _STAFF,
    "sign_consent": _STAFF,
    "withdraw_consent": _STAFF,
    "record_screening": _STAFF,
    "sign_eligibility": _PI,
    "enroll": _CLINICIANS,
    "record_apheresis": _STAFF,
    "record_product_release": _STAFF,
    "record_manufacturing_failure": _STAFF,
    "plan_lymphodepletion": _CLINICIANS,
    "approve_lymphodepletion": _PI,
    "record_measurement": _STAFF,
    "override_renal_threshold": _PI,
    "confirm_infusion_weight": _PI,
    "record_lymphodepletion_dose": _STAFF,
    "record_infusion": _CLINICIANS,
    "reschedule_visit": _STAFF,
    "complete_visit": _STAFF,
    "miss_visit": _SYSTEM,
    "open_visit_window": _SYSTEM,
    "expire_screening": _SYSTEM,
    "record_correction": _STAFF,
    # The system ends participation as "completed" once the last visit is resolved.
    "end_participation": _STAFF | _SYSTEM,
    "record_adverse_event": _STAFF,
    "update_adverse_event": _STAFF,
    "resolve_adverse_event": _STAFF,
    "report_sae": _STAFF,
    "mark_sae_overdue": _SYSTEM,
    "report_susar": _STAFF,
    "mark_susar_overdue": _SYSTEM,
    "record_daily_monitoring": _STAFF,
    "mark_monitoring_missed": _SYSTEM,
    "close_dlt_window": _SYSTEM,
    # Only the study workflow grants dose-level slots.
    "grant_study_slot": _SYSTEM,
    "record_ltfu_consent": _STAFF,
    "complete_ltfu_visit": _STAFF,
    "record_contact_attempt": _STAFF,
    "record_delayed_adverse_event": _STAFF,
    "record_reconsent": _STAFF,
    "mark_reconsent_overdue": _SYSTEM,
    # Chain of custody: staff record handoffs; only the PI decides on an out-of-spec lot.
    "record_custody": _STAFF,
    "record_manufactured": _STAFF,
    "record_quality_release": _STAFF,
    "decide_out_of_spec": _PI,
    "upload_temperature_log": _STAFF,
    "verify_bedside": _STAFF,
    "mark_custody_overdue": _SYSTEM,
    "book_slots": _STAFF,
    **MONITORING_ROLES,
}

_ACTIVE = frozenset(p for p in Phase if p.is_active)
_POST_INFUSION = frozenset({Phase.INFUSED, Phase.FOLLOW_UP})
_LTFU = frozenset({Phase.LTFU})
# LTFU timepoints are visits too: their windows open, close and move like the main ones.
_VISITS = _POST_INFUSION | _LTFU
_AE_PHASES = _ACTIVE - {Phase.REGISTERED}
_EVER = frozenset(p for p in Phase if p is not Phase.NEW)
# From enrollment (collection) until the infusion, the subject's material moves.
_CUSTODY = frozenset(
    {Phase.ENROLLED, Phase.APHERESIS, Phase.AWAITING_PRODUCT, Phase.LYMPHODEPLETION}
)

ALLOWED_PHASES: dict[str, frozenset[Phase]] = {
    "register": frozenset({Phase.NEW}),
    "sign_consent": frozenset({Phase.REGISTERED}),
    "withdraw_consent": _ACTIVE - {Phase.REGISTERED},
    "record_screening": frozenset({Phase.CONSENTED, Phase.SCREENING}),
    "sign_eligibility": frozenset({Phase.SCREENING}),
    "enroll": frozenset({Phase.ELIGIBLE}),
    "record_apheresis": frozenset({Phase.ENROLLED}),
    "record_product_release": frozenset({Phase.APHERESIS}),
    "record_manufacturing_failure": frozenset({Phase.APHERESIS}),
    "plan_lymphodepletion": frozenset({Phase.AWAITING_PRODUCT}),
    "approve_lymphodepletion": frozenset({Phase.AWAITING_PRODUCT}),
    # Re-checks and weights from consent to the end of follow-up.
    "record_measurement": _AE_PHASES,
    "override_renal_threshold": frozenset({Phase.AWAITING_PRODUCT}),
    "confirm_infusion_weight": frozenset({Phase.LYMPHODEPLETION}),
    "record_lymphodepletion_dose": frozenset({Phase.LYMPHODEPLETION}),
    "record_infusion": frozenset({Phase.LYMPHODEPLETION}),
    "reschedule_visit": _VISITS,
    "complete_visit": _POST_INFUSION,
    "miss_visit": _VISITS,
    "open_visit_window": _VISITS,
    "expire_screening": frozenset({Phase.CONSENTED, Phase.SCREENING, Phase.ELIGIBLE}),
    "record_correction": frozenset(p for p in Phase if p is not Phase.NEW),
    "end_participation": _ACTIVE,
    # AEs are collected from consent onwards.
    "record_adverse_event": _AE_PHASES,
    "update_adverse_event": _AE_PHASES,
    "resolve_adverse_event": _AE_PHASES,
    # An SAE (a death above all) must still be reported after participation has ended.
    "report_sae": _EVER,
    "mark_sae_overdue": _EVER,
    "report_susar": _EVER,
    "mark_susar_overdue": _EVER,
    "record_daily_monitoring": _POST_INFUSION,
    "mark_monitoring_missed": _POST_INFUSION,
    # Closed at its end, or at once when participation ends inside the window.
    "close_dlt_window": _POST_INFUSION | frozenset(p for p in Phase if p.is_terminal),
    "grant_study_slot": frozenset({Phase.ENROLLED, Phase.APHERESIS, Phase.AWAITING_PRODUCT}),
    # After Month 12, or earlier to end the main study early (early_termination).
    "record_ltfu_consent": _POST_INFUSION,
    "complete_ltfu_visit": _LTFU,
    "record_contact_attempt": _LTFU,
    "record_delayed_adverse_event": _LTFU,
    # Whoever is still in the study when an amendment brings a new consent form.
    "record_reconsent": _ACTIVE,
    "mark_reconsent_overdue": _ACTIVE,
    "record_custody": _CUSTODY,
    "record_manufactured": frozenset({Phase.APHERESIS}),
    "record_quality_release": frozenset({Phase.APHERESIS}),
    "decide_out_of_spec": frozenset({Phase.APHERESIS}),
    "upload_temperature_log": _CUSTODY,
    "verify_bedside": frozenset({Phase.LYMPHODEPLETION}),
    "mark_custody_overdue": _CUSTODY,
    # Moved until the collection happens.
    "book_slots": frozenset({Phase.ENROLLED}),
    **MONITORING_PHASES,
}
