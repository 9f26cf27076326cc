"""apply for the chain of identity and custody: how custody events change the subject's state."""

from __future__ import annotations

from typing import Any

from domain import custody_events as ce
from domain import events as e
from domain.custody import BedsideCheck, CustodyEntry, CustodyState, CustodyUnit, SlotChain
from domain.state import SubjectState
from domain.values import Phase

__all__ = ["evolve_custody"]


def _entry(event: e.Event, step: str, **fields: Any) -> CustodyEntry:
    return CustodyEntry(
        seq=event.seq, step=step, at=event.occurred_at, by=event.actor.user_id, **fields
    )


def _update(
    s: SubjectState, unit_id: str, event: e.Event, label: str, detail: str | None, **changes: Any
) -> CustodyState:
    unit = s.custody.unit(unit_id)
    assert unit is not None
    changes["timeline"] = (*unit.timeline, _entry(event, label, detail=detail))
    return s.custody.model_copy(
        update={"units": s.custody.with_unit(unit.model_copy(update=changes))}
    )


def _released(s: SubjectState, unit_id: str, event: e.Event, status: str) -> dict[str, Any]:
    unit = s.custody.unit(unit_id)
    assert unit is not None
    return {
        "custody": _update(
            s,
            unit_id,
            event,
            "quality_released",
            f"release {status}",
            step="quality_released",
            release=status,
            since=event.occurred_at,
        ),
        "phase": Phase.AWAITING_PRODUCT,
        "product_lot": unit.lot,
        "product_total_tu": unit.total_tu,
    }


def evolve_custody(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    """State changes of a custody event, or None when the event is not one of ours."""
    p = event.payload
    custody = s.custody
    match p:
        case ce.CoiAssigned():
            return {"custody": custody.model_copy(update={"coi": p.coi})}
        case ce.SlotsBooked():
            booking = SlotChain(
                apheresis_on=p.apheresis_on,
                manufacturing_start_on=p.manufacturing_start_on,
                release_on=p.release_on,
                at_site_on=p.at_site_on,
                earliest_infusion_on=p.earliest_infusion_on,
            )
            return {"custody": custody.model_copy(update={"booking": booking})}
        case ce.CustodyHandoff(step="collected"):
            unit = CustodyUnit(
                unit_id=p.unit_id,
                kind="apheresis",
                step="collected",
                since=event.occurred_at,
                holder=p.to_party,
                location=p.location,
                condition="fresh",
                collected_at=event.occurred_at,
                timeline=(
                    _entry(
                        event,
                        "collected",
                        from_party=p.from_party,
                        to_party=p.to_party,
                        location=p.location,
                        detail=f"{p.volume_ml:g} mL" if p.volume_ml else None,
                    ),
                ),
            )
            return {
                "custody": custody.model_copy(update={"units": custody.with_unit(unit)}),
                "phase": Phase.APHERESIS,
                "apheresis_count": s.apheresis_count + 1,
                "apheresis_volume_ml": p.volume_ml,
            }
        case ce.CustodyHandoff():
            found = custody.unit(p.unit_id)
            assert found is not None
            entry = _entry(
                event,
                p.step,
                from_party=p.from_party,
                to_party=p.to_party,
                location=p.location,
                detail=", ".join(x for x in (p.courier, p.shipper_id) if x) or None,
            )
            changed = found.model_copy(
                update={
                    "step": p.step,
                    "since": event.occurred_at,
                    "holder": p.to_party,
                    "location": p.location,
                    "condition": p.condition,
                    "thawed_at": event.occurred_at if p.step == "thawed" else found.thawed_at,
                    "timeline": (*found.timeline, entry),
                }
            )
            return {"custody": custody.model_copy(update={"units": custody.with_unit(changed)})}
        case ce.ProductManufactured():
            made = CustodyUnit(
                unit_id=p.unit_id,
                kind="product",
                parent_unit_id=p.parent_unit_id,
                step="manufactured",
                since=event.occurred_at,
                holder=p.holder,
                location=p.location,
                condition="cryopreserved",
                lot=p.lot,
                total_tu=p.total_tu,
                expires_on=p.expires_on,
                timeline=(
                    _entry(
                        event,
                        "manufactured",
                        to_party=p.holder,
                        location=p.location,
                        detail=f"lot {p.lot}, {p.total_tu:.3g} TU, from {p.parent_unit_id}",
                    ),
                ),
            )
            return {"custody": custody.model_copy(update={"units": custody.with_unit(made)})}
        case ce.QualityReleased():
            return _released(s, p.unit_id, event, "released")
        case ce.QualityOutOfSpec():
            return {
                "custody": _update(
                    s, p.unit_id, event, "out_of_spec", "; ".join(p.failures), release="out_of_spec"
                )
            }
        case ce.OutOfSpecDecided(decision="use"):
            return _released(s, p.unit_id, event, "use_approved")
        case ce.OutOfSpecDecided():
            return {
                "custody": _update(s, p.unit_id, event, "not_used", p.statement, release="rejected")
            }
        case ce.TemperatureLogChecked():
            found = custody.unit(p.unit_id)
            assert found is not None
            ok = not p.excursions and found.temperature_ok is not False
            detail = (
                f"logger {p.logger_id}: {p.readings} readings "
                f"{p.min_c:g}..{p.max_c:g} °C ({p.limit})"
            )
            return {
                "custody": _update(
                    s, p.unit_id, event, "temperature_log", detail, temperature_ok=ok
                )
            }
        case ce.UnitQuarantined():
            return {
                "custody": _update(
                    s,
                    p.unit_id,
                    event,
                    "quarantined",
                    p.detail,
                    quarantined=True,
                    quarantine_reason=p.cause,
                )
            }
        case ce.CustodyOverdue():
            found = custody.unit(p.unit_id)
            assert found is not None
            return {
                "custody": _update(
                    s, p.unit_id, event, "overdue", p.timer, overdue=(*found.overdue, p.timer)
                )
            }
        case ce.BedsideVerified():
            pending = custody.bedside
            if p.complete and pending is not None:
                check = pending.model_copy(
                    update={
                        "verifiers": (*pending.verifiers, p.verifier),
                        "passed_at": event.occurred_at,
                    }
                )
            else:
                check = BedsideCheck(
                    unit_id=p.unit_id,
                    weight_kg=p.weight_kg,
                    tu_per_kg=p.tu_per_kg,
                    verifiers=(p.verifier,),
                )
            updated = _update(s, p.unit_id, event, "bedside_verified", f"verified by {p.verifier}")
            return {"custody": updated.model_copy(update={"bedside": check})}
        case ce.BedsideCheckFailed():
            return {
                "custody": custody.model_copy(
                    update={"bedside": None, "failed_checks": custody.failed_checks + 1}
                )
            }
    return None
