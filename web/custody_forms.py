"""Dashboard forms of the chain of custody, derived from the custody command models."""

from __future__ import annotations

from domain import custody_commands as cc
from domain.custody_events import CertificateOfAnalysis
from domain.protocol import Protocol
from domain.state import SubjectState
from web.form_fields import FormSpec, fields_of

__all__ = ["CUSTODY_FORMS"]

_IMPLICIT = frozenset({"type", "occurred_at"})
_LABELS = {
    "unit_id": "Unit id (scan or type)",
    "coi": "COI on the product label (scan or type)",
    "subject_id": "Subject id on the wristband (scan or type)",
    "from_party": "From (who hands over)",
    "to_party": "To (who receives)",
    "shipper_id": "Shipper / data-logger id",
    "volume_ml": "Volume (mL, collection only)",
    "total_tu": "Total TU in the lot",
    "tu_per_kg": "Dose (TU/kg)",
    "weight_kg": "Current weight (kg)",
    "viability_pct": "Viability (%)",
    "car_positive_pct": "CAR+ / transduction (%)",
    "vcn_copies_per_cell": "Vector copy number (copies/cell)",
    "endotoxin_eu_per_ml": "Endotoxin (EU/mL)",
    "rcl": "Replication-competent lentivirus",
    "certificate_ref": "Certificate of analysis reference",
}


def _has_coi(state: SubjectState, protocol: Protocol) -> bool:
    return state.custody.coi is not None


def _awaits_product(state: SubjectState, protocol: Protocol) -> bool:
    return any(
        u.kind == "apheresis" and u.step == "manufacturing_started" for u in state.custody.units
    ) and not any(u.kind == "product" and u.release == "pending" for u in state.custody.units)


def _awaits_release(state: SubjectState, protocol: Protocol) -> bool:
    return any(u.kind == "product" and u.release == "pending" for u in state.custody.units)


def _awaits_oos_decision(state: SubjectState, protocol: Protocol) -> bool:
    return any(u.release == "out_of_spec" for u in state.custody.units)


def _has_product(state: SubjectState, protocol: Protocol) -> bool:
    return any(u.kind == "product" for u in state.custody.units)


def _spec(command: str, title: str, model: type[cc._Command], **kwargs: object) -> FormSpec:
    fields = fields_of(model, exclude=_IMPLICIT, labels=_LABELS)
    fields = tuple(sorted(fields, key=lambda f: f.name == "reason"))
    return FormSpec(command, title, model, fields, group="custody", **kwargs)  # type: ignore[arg-type]


CUSTODY_FORMS: dict[str, FormSpec] = {
    spec.command: spec
    for spec in (
        _spec(
            "record_custody", "Record custody handoff", cc.RecordCustodyHandoff, applies=_has_coi
        ),
        _spec(
            "record_manufactured",
            "Record product manufactured",
            cc.RecordManufactured,
            applies=_awaits_product,
        ),
        FormSpec(
            "record_quality_release",
            "Record quality release (CoA)",
            cc.RecordQualityRelease,
            (
                *fields_of(
                    cc.RecordQualityRelease, only=("unit_id", "released_on"), labels=_LABELS
                ),
                *fields_of(CertificateOfAnalysis, prefix="coa.", labels=_LABELS),
                *fields_of(cc.RecordQualityRelease, only=("reason",)),
            ),
            group="custody",
            applies=_awaits_release,
        ),
        _spec(
            "decide_out_of_spec",
            "Decide on out-of-spec lot (PI)",
            cc.DecideOutOfSpec,
            applies=_awaits_oos_decision,
        ),
        _spec("verify_bedside", "Bedside identity check", cc.VerifyBedside, applies=_has_product),
    )
}
