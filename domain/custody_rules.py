"""decide / apply for the chain of identity and custody of one subject's material."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from domain import commands as c
from domain import custody_commands as cc
from domain import custody_events as ce
from domain import events as e
from domain.actors import Actor
from domain.custody import (
    CustodyUnit,
    SlotChain,
    coi_sequence,
    make_coi,
    normalise_id,
    unit_id_for,
)
from domain.custody_protocol import CustodyRules
from domain.custody_slots import chain_from, first_apheresis_day
from domain.errors import MissingPrerequisite, NotFound, ValueOutOfRange, WrongPhase
from domain.guards import CLOCK_SKEW, deviation, not_future
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.values import Phase

__all__ = [
    "CUSTODY_DECIDERS",
    "assign_coi",
    "bedside_problems",
    "custody_timers",
    "infusion_gate",
    "legacy_allowed",
]

# Relative slack when comparing a dose typed at infusion with the one verified at the bedside.
_SAME_DOSE = 1e-6


def _rules(p: Protocol) -> CustodyRules:
    if p.custody is None:
        raise MissingPrerequisite(
            f"protocol version {p.version} defines no chain of custody", field="type"
        )
    return p.custody


def assign_coi(s: SubjectState, at: datetime, p: Protocol) -> list[e.EventPayload]:
    """The COI given at enrollment; none under a protocol without custody rules."""
    if p.custody is None:
        return []
    site = s.site_id or ""
    facility = p.custody.facility_codes.get(site)
    if facility is None:
        raise ValueOutOfRange(
            f"site {site!r} has no facility code in the protocol's custody data; "
            "a chain-of-identity id cannot be issued",
            field="site_id",
        )
    sequence = coi_sequence(s.subject_id)
    out: list[e.EventPayload] = [
        ce.CoiAssigned(
            coi=make_coi(facility, at.year, sequence),
            facility_code=facility,
            year=at.year,
            sequence=sequence,
        )
    ]
    rules = p.custody.slots
    if rules is not None:
        first = first_apheresis_day(at.date(), rules, p.calendar)
        out.append(_booked(chain_from(first, rules, p), rescheduled=False))
    return out


def _booked(chain: SlotChain, *, rescheduled: bool) -> ce.SlotsBooked:
    return ce.SlotsBooked(**chain.model_dump(), rescheduled=rescheduled)


def _book(
    s: SubjectState, cmd: cc.BookSlots, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p).slots
    if rules is None:
        raise MissingPrerequisite("the protocol has no manufacturing slot data", field="type")
    if s.custody.coi is None:
        raise MissingPrerequisite("the subject has no chain-of-identity id", field="type")
    if cmd.apheresis_on < cmd.occurred_at.date():
        raise ValueOutOfRange("apheresis_on is in the past", field="apheresis_on")
    if not p.calendar.is_working_day(cmd.apheresis_on):
        raise ValueOutOfRange(
            f"apheresis_on {cmd.apheresis_on} is not a working day at the site",
            field="apheresis_on",
        )
    return [_booked(chain_from(cmd.apheresis_on, rules, p), rescheduled=True)]


def legacy_allowed(s: SubjectState, p: Protocol, what: str) -> None:
    """The pre-custody apheresis/release commands, refused once the chain is in force."""
    if p.custody is not None and p.custody.require_chain:
        raise WrongPhase(
            f"{what} is recorded through the chain of custody under protocol {p.version}",
            field="type",
        )
    if s.custody.in_force:
        raise WrongPhase(
            f"this subject's material is tracked unit by unit; record the {what} through the "
            "chain of custody (quality release with its certificate of analysis)",
            field="type",
        )


def _unit(s: SubjectState, unit_id: str) -> CustodyUnit:
    unit = s.custody.unit(unit_id)
    if unit is None:
        known = ", ".join(u.unit_id for u in s.custody.units) or "none"
        raise NotFound(
            f"unit {normalise_id(unit_id)} is not one of this subject's units "
            f"(COI {s.custody.coi}; units: {known})",
            field="unit_id",
        )
    return unit


def _expect_next(unit: CustodyUnit, step: str) -> None:
    if unit.next_step != step:
        expected = unit.next_step or "nothing (its chain is complete)"
        raise WrongPhase(
            f"unit {unit.unit_id} is {unit.step.replace('_', ' ')}; its next step is "
            f"{expected.replace('_', ' ')}, not {step.replace('_', ' ')}",
            field="step",
        )


def _not_before(unit: CustodyUnit, at: datetime) -> None:
    if at < unit.since:
        raise ValueOutOfRange(
            f"occurred_at is before the unit's previous step ({unit.since.isoformat()})",
            field="occurred_at",
        )


def _handoff(
    s: SubjectState, cmd: cc.RecordCustodyHandoff, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _rules(p)
    if cmd.step == "collected":
        if s.custody.coi is None:
            raise MissingPrerequisite(
                "the subject has no chain-of-identity id (enrolled before the chain existed); "
                "record the apheresis the previous way",
                field="step",
            )
        if s.phase is not Phase.ENROLLED:
            raise WrongPhase("a collection is recorded after enrollment, before release")
        unit_id = unit_id_for(s.custody.coi, "apheresis", s.custody.count("apheresis") + 1)
        condition = "fresh"
    else:
        assert cmd.unit_id is not None  # the command's validator demands it past collection
        unit = _unit(s, cmd.unit_id)
        _expect_next(unit, cmd.step)
        _not_before(unit, cmd.occurred_at)
        if cmd.step == "thawed" and not unit.usable:
            raise WrongPhase(
                f"unit {unit.unit_id} may not be thawed: "
                + ("it is quarantined" if unit.quarantined else f"release is {unit.release}"),
                field="unit_id",
            )
        unit_id = unit.unit_id
        condition = "thawed" if cmd.step == "thawed" else unit.condition
    return [
        ce.CustodyHandoff(
            unit_id=unit_id,
            step=cmd.step,
            from_party=cmd.from_party,
            to_party=cmd.to_party,
            location=cmd.location,
            condition=condition,
            courier=cmd.courier,
            shipper_id=cmd.shipper_id,
            volume_ml=cmd.volume_ml,
        )
    ]


def _manufactured(
    s: SubjectState, cmd: cc.RecordManufactured, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _rules(p)
    source = _unit(s, cmd.unit_id)
    if source.kind != "apheresis" or source.step != "manufacturing_started":
        raise WrongPhase(
            f"unit {source.unit_id} is {source.step.replace('_', ' ')}; a product is made "
            "from an apheresis unit whose manufacturing has started",
            field="unit_id",
        )
    _not_before(source, cmd.occurred_at)
    if cmd.expires_on < cmd.occurred_at.date():
        raise ValueOutOfRange("expires_on is before the product was made", field="expires_on")
    assert s.custody.coi is not None
    return [
        ce.ProductManufactured(
            unit_id=unit_id_for(s.custody.coi, "product", s.custody.count("product") + 1),
            parent_unit_id=source.unit_id,
            lot=cmd.lot,
            total_tu=cmd.total_tu,
            expires_on=cmd.expires_on,
            location=cmd.location,
            holder=cmd.holder,
        )
    ]


def _coa_failures(coa: ce.CertificateOfAnalysis, rules: CustodyRules) -> tuple[str, ...]:
    limits = rules.acceptance
    out: list[str] = []
    if coa.viability_pct < limits.viability_pct_min:
        out.append(f"viability {coa.viability_pct:g} % < {limits.viability_pct_min:g} %")
    if coa.car_positive_pct < limits.car_positive_pct_min:
        out.append(f"CAR+ {coa.car_positive_pct:g} % < {limits.car_positive_pct_min:g} %")
    if coa.vcn_copies_per_cell > limits.vcn_copies_per_cell_max:
        out.append(f"VCN {coa.vcn_copies_per_cell:g} > {limits.vcn_copies_per_cell_max:g}/cell")
    if coa.endotoxin_eu_per_ml > limits.endotoxin_eu_per_ml_max:
        out.append(
            f"endotoxin {coa.endotoxin_eu_per_ml:g} > {limits.endotoxin_eu_per_ml_max:g} EU/mL"
        )
    for name in ("sterility", "mycoplasma", "rcl"):
        if getattr(coa, name) != "negative":
            out.append(f"{name} {getattr(coa, name)}")
    return tuple(out)


def _quality(
    s: SubjectState, cmd: cc.RecordQualityRelease, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    not_future(cmd.released_on, now, "released_on")
    unit = _unit(s, cmd.unit_id)
    if unit.kind != "product" or unit.step != "manufactured" or unit.release != "pending":
        raise WrongPhase(
            f"unit {unit.unit_id} is not a manufactured lot awaiting release "
            f"(step {unit.step}, release {unit.release})",
            field="unit_id",
        )
    assert unit.lot is not None
    failures = _coa_failures(cmd.coa, rules)
    if failures:
        return [
            ce.QualityOutOfSpec(
                unit_id=unit.unit_id,
                lot=unit.lot,
                released_on=cmd.released_on,
                coa=cmd.coa,
                failures=failures,
            )
        ]
    return [
        ce.QualityReleased(
            unit_id=unit.unit_id, lot=unit.lot, released_on=cmd.released_on, coa=cmd.coa
        )
    ]


def _oos_decision(
    s: SubjectState, cmd: cc.DecideOutOfSpec, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _rules(p)
    unit = _unit(s, cmd.unit_id)
    if unit.release != "out_of_spec":
        raise WrongPhase(
            f"unit {unit.unit_id} is not awaiting an out-of-specification decision "
            f"(release {unit.release})",
            field="unit_id",
        )
    decided = ce.OutOfSpecDecided(
        unit_id=unit.unit_id,
        decision=cmd.decision,
        statement=f"{actor.user_id} ({actor.role.value}) decides: {cmd.decision} — {cmd.reason}",
    )
    if cmd.decision == "use":
        return [decided]
    return [
        decided,
        ce.UnitQuarantined(
            unit_id=unit.unit_id, cause="not_used", detail="out of specification; not to be used"
        ),
        e.ManufacturingFailed(
            failed_on=cmd.occurred_at.date(),
            detail=f"lot {unit.lot} out of specification; the PI decided not to use it",
        ),
    ]


def _temperature(
    s: SubjectState, cmd: cc.UploadTemperatureLog, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    unit = _unit(s, cmd.unit_id)
    if unit.condition == "thawed" or unit.step == "infused":
        raise WrongPhase(f"unit {unit.unit_id} is thawed; no shipper log applies", field="unit_id")
    if any(r.at > now + CLOCK_SKEW for r in cmd.readings):
        raise ValueOutOfRange("a reading is timed in the future", field="readings")
    limit = (
        rules.fresh_temperature if unit.condition == "fresh" else rules.cryopreserved_temperature
    )
    readings = sorted(cmd.readings, key=lambda r: r.at)
    excursions = tuple(
        ce.TemperatureReading(at=r.at, celsius=r.celsius)
        for r in readings
        if not limit.holds(r.celsius)
    )
    out: list[e.EventPayload] = [
        ce.TemperatureLogChecked(
            unit_id=unit.unit_id,
            logger_id=cmd.logger_id,
            readings=len(readings),
            first_at=readings[0].at,
            last_at=readings[-1].at,
            min_c=min(r.celsius for r in readings),
            max_c=max(r.celsius for r in readings),
            limit=f"{unit.condition} {limit.describe()}",
            excursions=excursions,
        )
    ]
    if excursions and not unit.quarantined:
        worst = max(excursions, key=lambda r: abs(r.celsius))
        out.append(
            ce.UnitQuarantined(
                unit_id=unit.unit_id,
                cause="temperature_excursion",
                detail=f"{len(excursions)} reading(s) outside {limit.describe()}, e.g. "
                f"{worst.celsius:g} °C at {worst.at.isoformat()} (logger {cmd.logger_id})",
            )
        )
    return out


def bedside_problems(
    s: SubjectState,
    *,
    subject_id: str,
    coi: str,
    unit_id: str,
    weight_kg: float,
    tu_per_kg: float,
    at: datetime,
    p: Protocol,
) -> list[str]:
    """Everything that makes this product wrong for this subject at this moment."""
    rules = _rules(p)
    problems: list[str] = []
    if normalise_id(subject_id) != s.subject_id:
        problems.append(f"wristband subject {normalise_id(subject_id)} is not {s.subject_id}")
    if normalise_id(coi) != s.custody.coi:
        problems.append(f"label COI {normalise_id(coi)} is not the subject's COI {s.custody.coi}")
    unit = s.custody.unit(unit_id)
    if unit is None or unit.kind != "product":
        problems.append(f"unit {normalise_id(unit_id)} is not a product unit of this subject")
        return problems
    if unit.release not in ("released", "use_approved"):
        problems.append(f"unit {unit.unit_id} is not released (release {unit.release})")
    if unit.quarantined:
        problems.append(f"unit {unit.unit_id} is quarantined: {unit.quarantine_reason}")
    if unit.expires_on is not None and unit.expires_on < at.date():
        problems.append(f"unit {unit.unit_id} expired on {unit.expires_on}")
    limit = timedelta(minutes=rules.thaw_to_infusion_minutes)
    if unit.step != "thawed" or unit.thawed_at is None:
        problems.append(f"unit {unit.unit_id} is not thawed (it is {unit.step})")
    elif at - unit.thawed_at > limit:
        problems.append(
            f"unit {unit.unit_id} was thawed at {unit.thawed_at.isoformat()}, more than "
            f"{rules.thaw_to_infusion_minutes} minutes ago"
        )
    assert s.dose_level is not None
    level = p.dose_level(s.dose_level)
    if not level.min_tu_per_kg <= tu_per_kg <= level.max_tu_per_kg:
        problems.append(
            f"dose {tu_per_kg:.3g} TU/kg is outside {level.code} "
            f"({level.min_tu_per_kg:.3g}–{level.max_tu_per_kg:.3g})"
        )
    if s.ld_plan is not None:
        planned = s.ld_plan.weight_kg
        if abs(weight_kg - planned) > planned * rules.bedside_weight_tolerance:
            problems.append(
                f"weight {weight_kg:g} kg differs from the planned {planned:g} kg by more "
                f"than {rules.bedside_weight_tolerance:.0%}"
            )
    if unit.total_tu is not None and tu_per_kg * weight_kg > unit.total_tu * (1 + _SAME_DOSE):
        problems.append(
            f"the dose needs {tu_per_kg * weight_kg:.3g} TU; unit {unit.unit_id} holds "
            f"{unit.total_tu:.3g} TU"
        )
    return problems


def _bedside(
    s: SubjectState, cmd: cc.VerifyBedside, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    problems = bedside_problems(
        s,
        subject_id=cmd.subject_id,
        coi=cmd.coi,
        unit_id=cmd.unit_id,
        weight_kg=cmd.weight_kg,
        tu_per_kg=cmd.tu_per_kg,
        at=cmd.occurred_at,
        p=p,
    )
    unit_id = normalise_id(cmd.unit_id)
    pending = s.custody.bedside
    second = pending is not None and not pending.passed and pending.unit_id == unit_id
    if pending is not None and pending.passed and pending.unit_id == unit_id and not problems:
        raise WrongPhase(
            f"unit {unit_id} is already verified by {' and '.join(pending.verifiers)}",
            field="unit_id",
        )
    if second and not problems:
        assert pending is not None
        if actor.user_id in pending.verifiers:
            problems.append(
                f"{actor.user_id} already made the first verification; a second, different "
                "staff member must verify"
            )
        elif not _same(pending.weight_kg, cmd.weight_kg) or not _same(
            pending.tu_per_kg, cmd.tu_per_kg
        ):
            problems.append(
                f"the second verification ({cmd.weight_kg:g} kg, {cmd.tu_per_kg:.3g} TU/kg) "
                f"differs from the first ({pending.weight_kg:g} kg, {pending.tu_per_kg:.3g} TU/kg)"
            )
    if problems:
        return [
            ce.BedsideCheckFailed(
                scanned_subject_id=normalise_id(cmd.subject_id),
                scanned_coi=normalise_id(cmd.coi),
                scanned_unit_id=unit_id,
                verifier=actor.user_id,
                problems=tuple(problems),
            )
        ]
    return [
        ce.BedsideVerified(
            unit_id=unit_id,
            coi=normalise_id(cmd.coi),
            verifier=actor.user_id,
            weight_kg=cmd.weight_kg,
            tu_per_kg=cmd.tu_per_kg,
            complete=second,
        )
    ]


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= max(abs(a), abs(b)) * _SAME_DOSE


def infusion_gate(
    s: SubjectState, cmd: c.RecordInfusion, weight_kg: float, p: Protocol
) -> list[e.EventPayload]:
    """The hard gate before an infusion, and the unit's last handoff when it passes.

    ``weight_kg`` is the weight the dose is computed from (typed, or the latest dated one)."""
    chain_required = p.custody is not None and p.custody.require_chain
    if not (s.custody.in_force or chain_required):
        return []
    check = s.custody.bedside
    if check is None or not check.passed:
        raise MissingPrerequisite(
            "no bedside identity check has passed: two different staff members must verify "
            "the COI and unit id against the subject first",
            field="unit_id",
        )
    assert s.custody.coi is not None
    problems = bedside_problems(
        s,
        subject_id=s.subject_id,
        coi=s.custody.coi,
        unit_id=check.unit_id,
        weight_kg=weight_kg,
        tu_per_kg=cmd.tu_per_kg,
        at=cmd.occurred_at,
        p=p,
    )
    if not _same(check.weight_kg, weight_kg) or not _same(check.tu_per_kg, cmd.tu_per_kg):
        problems.append(
            f"weight and dose must be those verified at the bedside ({check.weight_kg:g} kg, "
            f"{check.tu_per_kg:.3g} TU/kg)"
        )
    if problems:
        raise ValueOutOfRange("infusion refused: " + "; ".join(problems), field="tu_per_kg")
    unit = s.custody.unit(check.unit_id)
    assert unit is not None
    return [
        ce.CustodyHandoff(
            unit_id=unit.unit_id,
            step="infused",
            from_party=unit.holder,
            to_party=s.subject_id,
            location=unit.location,
            condition="thawed",
        )
    ]


def _overdue_due(unit: CustodyUnit, rules: CustodyRules, timer: str) -> datetime | None:
    if timer in unit.overdue:
        return None
    fresh = unit.kind == "apheresis" and unit.step in ("collected", "packed", "shipped")
    if timer == "fresh_transit" and fresh and unit.collected_at is not None:
        return unit.collected_at + timedelta(hours=rules.fresh_to_manufacturing_hours)
    if timer == "thaw_to_infusion" and unit.step == "thawed" and unit.thawed_at is not None:
        return unit.thawed_at + timedelta(minutes=rules.thaw_to_infusion_minutes)
    return None


def custody_timers(s: SubjectState, p: Protocol) -> list[tuple[datetime, cc.MarkCustodyOverdue]]:
    """When each unit's clock runs out: fresh material to manufacturing, thaw to infusion."""
    if p.custody is None or s.phase.is_terminal:
        return []
    out: list[tuple[datetime, cc.MarkCustodyOverdue]] = []
    latest = {u.kind: u.unit_id for u in s.custody.units}
    for unit in s.custody.units:
        # A quarantined unit, or one a later collection replaced, is out of the running.
        if unit.quarantined or latest[unit.kind] != unit.unit_id:
            continue
        for timer in ("fresh_transit", "thaw_to_infusion"):
            due = _overdue_due(unit, p.custody, timer)
            if due is not None:
                command = cc.MarkCustodyOverdue(
                    occurred_at=due,
                    unit_id=unit.unit_id,
                    timer=timer,
                )
                out.append((due, command))
    return out


def _overdue(
    s: SubjectState, cmd: cc.MarkCustodyOverdue, actor: Actor, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    unit = _unit(s, cmd.unit_id)
    due = _overdue_due(unit, rules, cmd.timer)
    if due is None or now < due:
        raise WrongPhase(f"the {cmd.timer} clock of unit {unit.unit_id} has not run out")
    out: list[e.EventPayload] = [
        ce.CustodyOverdue(unit_id=unit.unit_id, timer=cmd.timer, due_at=due)
    ]
    if cmd.timer == "fresh_transit":
        detail = (
            f"fresh apheresis unit {unit.unit_id} not received at manufacturing within "
            f"{rules.fresh_to_manufacturing_hours} h of collection (due {due.isoformat()})"
        )
    else:
        detail = (
            f"thawed unit {unit.unit_id} not infused within {rules.thaw_to_infusion_minutes} "
            f"minutes of thawing (due {due.isoformat()})"
        )
    out.append(deviation(s, f"{cmd.timer}_overdue", detail))
    if cmd.timer == "thaw_to_infusion":
        out.append(
            ce.UnitQuarantined(unit_id=unit.unit_id, cause="thaw_time_exceeded", detail=detail)
        )
    return out


CUSTODY_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    cc.RecordCustodyHandoff: _handoff,
    cc.RecordManufactured: _manufactured,
    cc.RecordQualityRelease: _quality,
    cc.DecideOutOfSpec: _oos_decision,
    cc.UploadTemperatureLog: _temperature,
    cc.VerifyBedside: _bedside,
    cc.MarkCustodyOverdue: _overdue,
    cc.BookSlots: _book,
}
