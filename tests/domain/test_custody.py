"""Chain of identity and custody in the pure domain: identifiers, handoff order, release,
temperature, timers and the two-person bedside check that gates the infusion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import commands as c
from domain import custody_commands as cc
from domain.actors import Actor, Role
from domain.custody import format_coi, is_valid_coi, make_coi, mod37_2
from domain.deadlines import next_deadline
from domain.errors import DomainError, MissingPrerequisite, NotFound, ValueOutOfRange, WrongPhase
from domain.protocol import Protocol, load_protocol
from domain.subject import decide, fold
from domain.values import Phase
from tests.domain.custody_steps import (
    COA_OOS,
    collect,
    handoff,
    manufactured,
    quality_release,
    temperature_log,
    verify,
)
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, SYSTEM, Journey
from tests.domain.prechecks import weight_command

PROTOCOL = load_protocol()
NURSE = Actor(user_id="nora", role=Role.COORDINATOR)


def enrolled(subject_id: str = "S-0001", protocol: Protocol = PROTOCOL) -> Journey:
    j = Journey(protocol, subject_id=subject_id)
    j.to_phase("enrolled")
    return j


def at_manufacturing(j: Journey) -> str:
    """Collect and move the fresh unit to manufacturing start; returns the apheresis unit id."""
    j.send(COORDINATOR, collect(j.now))
    unit = j.state.custody.units[-1].unit_id
    for step, hours in (
        ("packed", 1),
        ("shipped", 1),
        ("received_at_manufacturing", 20),
        ("manufacturing_started", 1),
    ):
        j.now += timedelta(hours=hours)
        j.send(COORDINATOR, handoff(j.now, step, unit))
    return unit


def manufactured_lot(j: Journey) -> str:
    source = at_manufacturing(j)
    j.advance(10)
    j.send(COORDINATOR, manufactured(j.now, source))
    return j.state.custody.units[-1].unit_id


def stored(j: Journey) -> str:
    """Through release and return to the site; returns the product unit id."""
    product = manufactured_lot(j)
    j.advance(14)
    j.send(COORDINATOR, quality_release(j.now, product))
    for step in ("shipped_cryopreserved", "received_at_site", "stored"):
        j.now += timedelta(hours=6)
        j.send(COORDINATOR, handoff(j.now, step, product))
    return product


def ready_to_thaw(j: Journey) -> str:
    """Stored product, lymphodepletion planned, approved and given; clock at infusion day."""
    product = stored(j)
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    j.send(PI, j.approve())
    j.give_doses()
    assert j.state.ld_plan is not None
    j.go_to(j.state.ld_plan.infusion_date)
    if j.dated_results:
        # The infusion's dose uses the day's measured weight (60 kg, as verified below).
        j.send(COORDINATOR, weight_command(j.now, j.today))
    return product


def thawed(j: Journey) -> str:
    product = ready_to_thaw(j)
    j.send(COORDINATOR, handoff(j.now, "thawed", product))
    j.now += timedelta(minutes=10)
    return product


def check(j: Journey, product: str, **overrides: object) -> cc.VerifyBedside:
    assert j.state.custody.coi is not None
    fields: dict[str, object] = {
        "subject_id": j.subject_id,
        "coi": j.state.custody.coi,
        "unit_id": product,
    }
    fields.update(overrides)
    return verify(j.now, **fields)  # type: ignore[arg-type]


def two_person_check(j: Journey, product: str) -> None:
    j.send(NURSE, check(j, product))
    j.now += timedelta(minutes=2)
    j.send(INVESTIGATOR, check(j, product))


def types(j: Journey, start: int = 0) -> list[str]:
    return [e.type for e in j.events[start:]]


# -- identifiers ----------------------------------------------------------------------------


def test_mod37_2_gives_the_published_check_characters() -> None:
    assert mod37_2("G123489654321") == "Y"
    assert mod37_2("A999915000001") == "M"


def test_enrollment_assigns_a_coi_with_the_sites_facility_code_year_sequence_and_check() -> None:
    j = enrolled("S-0042")
    coi = j.state.custody.coi
    assert coi == make_coi("B0001", 2026, 42)
    assert coi is not None and is_valid_coi(coi)
    assert format_coi(coi) == f"B0001 26 000042 {coi[-1]}"
    assert types(j)[-3:] == ["subject.enrolled", "coi.assigned", "custody.slots_booked"]
    # One changed character is caught by the check character.
    assert not is_valid_coi(coi[:-2] + ("1" if coi[-2] != "1" else "2") + coi[-1])


def test_each_unit_id_carries_the_subjects_coi() -> None:
    j = enrolled()
    product = manufactured_lot(j)
    coi = j.state.custody.coi
    assert [u.unit_id for u in j.state.custody.units] == [f"{coi}-AP01", product]
    assert product == f"{coi}-PR01"
    assert j.state.custody.units[1].parent_unit_id == f"{coi}-AP01"


def test_enrollment_at_a_site_without_a_facility_code_is_refused_naming_the_field() -> None:
    j = Journey(PROTOCOL)
    j.send(
        COORDINATOR,
        j.register().model_copy(update={"site_id": "XYZ-9"}),
    )
    for actor, command in ((COORDINATOR, j.consent()), (COORDINATOR, j.screening())):
        j.send(actor, command)
    j.send(PI, j.sign())
    with pytest.raises(ValueOutOfRange) as info:
        decide(j.state, j.enroll(), INVESTIGATOR, j.now, PROTOCOL)
    assert info.value.field == "site_id"


def test_a_protocol_without_custody_data_enrolls_without_a_coi_and_infuses_as_before() -> None:
    legacy = PROTOCOL.model_copy(update={"custody": None})
    j = Journey(legacy)
    j.to_phase("infused")
    assert j.state.custody.coi is None
    assert "coi.assigned" not in types(j)


# -- the whole chain ------------------------------------------------------------------------


def test_every_handoff_from_collection_to_infusion_is_an_event_and_fold_agrees() -> None:
    j = enrolled()
    start = len(j.events)
    product = thawed(j)
    two_person_check(j, product)
    j.now += timedelta(minutes=3)
    infusion = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6)
    j.send(INVESTIGATOR, infusion)

    assert j.state.phase is Phase.INFUSED
    steps = [
        (e.payload.unit_id, e.payload.step)  # type: ignore[union-attr]
        for e in j.events[start:]
        if e.type == "custody.handoff"
    ]
    coi = j.state.custody.coi
    apheresis, lot = f"{coi}-AP01", f"{coi}-PR01"
    assert steps == [
        (apheresis, "collected"),
        (apheresis, "packed"),
        (apheresis, "shipped"),
        (apheresis, "received_at_manufacturing"),
        (apheresis, "manufacturing_started"),
        (lot, "shipped_cryopreserved"),
        (lot, "received_at_site"),
        (lot, "stored"),
        (lot, "thawed"),
        (lot, "infused"),
    ]
    assert "custody.manufactured" in types(j, start)
    assert "quality.released" in types(j, start)
    verified = [e for e in j.events if e.type == "bedside_check.verified"]
    assert [e.actor.user_id for e in verified] == ["nora", "ivan"]
    unit = j.state.custody.unit(lot)
    assert unit is not None and unit.step == "infused" and unit.holder == j.subject_id
    assert [entry.step for entry in unit.timeline][:3] == [
        "manufactured",
        "quality_released",
        "shipped_cryopreserved",
    ]
    assert fold(j.events) == j.state


# -- refusals -------------------------------------------------------------------------------


def test_a_step_out_of_order_is_refused_naming_the_expected_step() -> None:
    j = enrolled()
    j.send(COORDINATOR, collect(j.now))
    unit = j.state.custody.units[0].unit_id
    with pytest.raises(WrongPhase, match="next step is packed, not shipped"):
        decide(j.state, handoff(j.now, "shipped", unit), COORDINATOR, j.now, PROTOCOL)


def test_a_handoff_of_a_unit_that_is_not_the_subjects_is_refused() -> None:
    other = enrolled("S-0002")
    other.send(COORDINATOR, collect(other.now))
    foreign = other.state.custody.units[0].unit_id
    j = enrolled("S-0001")
    j.send(COORDINATOR, collect(j.now))
    with pytest.raises(NotFound, match="not one of this subject's units") as info:
        decide(j.state, handoff(j.now, "packed", foreign), COORDINATOR, j.now, PROTOCOL)
    assert info.value.field == "unit_id"


def test_an_unreleased_product_cannot_be_thawed() -> None:
    j = enrolled()
    product = manufactured_lot(j)
    with pytest.raises(WrongPhase):
        decide(j.state, handoff(j.now, "thawed", product), COORDINATOR, j.now, PROTOCOL)


def test_an_out_of_spec_lot_waits_for_the_pi_and_is_never_silently_released() -> None:
    j = enrolled()
    product = manufactured_lot(j)
    j.send(COORDINATOR, quality_release(j.now, product, COA_OOS))
    assert types(j)[-1] == "quality.out_of_spec"
    unit = j.state.custody.unit(product)
    assert unit is not None and unit.release == "out_of_spec"
    assert j.state.phase is Phase.APHERESIS  # not released: no lymphodepletion plan possible
    with pytest.raises(WrongPhase):
        decide(j.state, j.plan(), INVESTIGATOR, j.now, PROTOCOL)
    with pytest.raises(WrongPhase):
        decide(
            j.state, handoff(j.now, "shipped_cryopreserved", product), COORDINATOR, j.now, PROTOCOL
        )
    decision = cc.DecideOutOfSpec(
        occurred_at=j.now, unit_id=product, decision="use", reason="viability 61 %: benefit"
    )
    with pytest.raises(DomainError, match="role 'investigator'"):
        decide(j.state, decision, INVESTIGATOR, j.now, PROTOCOL)
    j.send(PI, decision)
    unit = j.state.custody.unit(product)
    assert unit is not None and unit.release == "use_approved"
    assert j.state.phase is Phase.AWAITING_PRODUCT
    signed = j.events[-1]
    assert signed.type == "quality.oos_decided" and signed.actor.role is Role.PI


def test_a_pi_not_use_decision_quarantines_the_lot_and_returns_to_apheresis() -> None:
    j = enrolled()
    product = manufactured_lot(j)
    j.send(COORDINATOR, quality_release(j.now, product, COA_OOS))
    j.send(
        PI,
        cc.DecideOutOfSpec(
            occurred_at=j.now, unit_id=product, decision="not_use", reason="sterility risk"
        ),
    )
    assert types(j)[-3:] == [
        "quality.oos_decided",
        "custody.quarantined",
        "manufacturing.failed",
    ]
    assert j.state.phase is Phase.ENROLLED
    j.send(COORDINATOR, collect(j.now))
    assert j.state.custody.units[-1].unit_id.endswith("-AP02")


def test_a_temperature_excursion_quarantines_the_unit_and_bars_its_use() -> None:
    j = enrolled()
    product = stored(j)
    j.send(COORDINATOR, temperature_log(j.now, product, [-180.0, -175.0, -120.0, -178.0]))
    assert types(j)[-2:] == ["temperature.log_checked", "custody.quarantined"]
    unit = j.state.custody.unit(product)
    assert unit is not None and unit.quarantined and unit.temperature_ok is False
    with pytest.raises(WrongPhase, match="quarantined"):
        decide(j.state, handoff(j.now, "thawed", product), COORDINATOR, j.now, PROTOCOL)


def test_a_log_within_limits_records_the_check_without_quarantine() -> None:
    j = enrolled()
    j.send(COORDINATOR, collect(j.now))
    unit = j.state.custody.units[0].unit_id
    j.now += timedelta(hours=3)
    j.send(COORDINATOR, temperature_log(j.now, unit, [4.0, 5.5, 6.1]))
    assert types(j)[-1] == "temperature.log_checked"
    assert j.state.custody.units[0].temperature_ok is True


def test_infusion_without_a_passed_two_person_check_is_refused() -> None:
    j = enrolled()
    product = thawed(j)
    infusion = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6)
    with pytest.raises(MissingPrerequisite, match="bedside identity check"):
        decide(j.state, infusion, INVESTIGATOR, j.now, PROTOCOL)
    j.send(NURSE, check(j, product))
    with pytest.raises(MissingPrerequisite, match="bedside identity check"):
        decide(j.state, infusion, INVESTIGATOR, j.now, PROTOCOL)


def test_the_same_person_twice_is_recorded_as_a_failed_check_and_the_infusion_refused() -> None:
    j = enrolled()
    product = thawed(j)
    j.send(NURSE, check(j, product))
    j.send(NURSE, check(j, product))
    failed = j.events[-1]
    assert failed.type == "bedside_check.failed"
    assert "second, different staff member" in failed.payload.problems[0]  # type: ignore[union-attr]
    assert j.state.custody.bedside is None and j.state.custody.failed_checks == 1


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"coi": "B0001260000999X"}, "label COI"),
        ({"subject_id": "S-0002"}, "wristband subject"),
        ({"unit_id": "B0001260000027-PR01"}, "not a product unit of this subject"),
        ({"tu_per_kg": 2e7}, "outside DL1"),
        ({"weight_kg": 75}, "differs from the planned"),
    ],
)
def test_a_mismatch_at_the_bedside_is_recorded_as_failed_and_infusion_stays_refused(
    override: dict[str, object], problem: str
) -> None:
    j = enrolled()
    product = thawed(j)
    j.send(NURSE, check(j, product, **override))
    failed = j.events[-1]
    assert failed.type == "bedside_check.failed"
    assert any(problem in p for p in failed.payload.problems)  # type: ignore[union-attr]
    infusion = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6)
    with pytest.raises(MissingPrerequisite):
        decide(j.state, infusion, INVESTIGATOR, j.now, PROTOCOL)


def test_a_dose_at_infusion_other_than_the_verified_one_is_refused() -> None:
    j = enrolled()
    product = thawed(j)
    two_person_check(j, product)
    infusion = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=8e6)
    with pytest.raises(ValueOutOfRange, match="verified at the bedside"):
        decide(j.state, infusion, INVESTIGATOR, j.now, PROTOCOL)


def test_the_thaw_clock_running_out_refuses_the_infusion_and_the_timer_opens_a_deviation() -> None:
    j = enrolled()
    product = thawed(j)
    two_person_check(j, product)
    limit = PROTOCOL.custody.thaw_to_infusion_minutes  # type: ignore[union-attr]
    deadline = next_deadline(j.state, PROTOCOL)
    assert deadline is not None
    assert isinstance(deadline.command, cc.MarkCustodyOverdue)
    assert deadline.command.timer == "thaw_to_infusion"
    unit = j.state.custody.unit(product)
    assert unit is not None and unit.thawed_at is not None
    assert deadline.due_at == unit.thawed_at + timedelta(minutes=limit)

    j.now = deadline.due_at + timedelta(minutes=1)
    late = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6)
    with pytest.raises(ValueOutOfRange, match=f"more than {limit} minutes ago"):
        decide(j.state, late, INVESTIGATOR, j.now, PROTOCOL)
    j.send(SYSTEM, deadline.command.model_copy(update={"occurred_at": j.now}))
    assert types(j)[-3:] == ["custody.overdue", "deviation.opened", "custody.quarantined"]
    assert j.state.deviations[-1].kind == "thaw_to_infusion_overdue"


def test_fresh_material_late_to_manufacturing_opens_a_deviation() -> None:
    j = enrolled()
    j.send(COORDINATOR, collect(j.now))
    deadline = next_deadline(j.state, PROTOCOL)
    assert deadline is not None and isinstance(deadline.command, cc.MarkCustodyOverdue)
    hours = PROTOCOL.custody.fresh_to_manufacturing_hours  # type: ignore[union-attr]
    assert deadline.due_at == j.now + timedelta(hours=hours)
    early = deadline.command.model_copy(update={"occurred_at": j.now})
    with pytest.raises(WrongPhase, match="has not run out"):
        decide(j.state, early, SYSTEM, j.now, PROTOCOL)
    j.now = deadline.due_at
    j.send(SYSTEM, deadline.command)
    assert types(j)[-2:] == ["custody.overdue", "deviation.opened"]
    after = next_deadline(j.state, PROTOCOL)
    assert after is None or not isinstance(after.command, cc.MarkCustodyOverdue)


def test_the_legacy_release_is_refused_once_the_subjects_material_is_tracked() -> None:
    j = enrolled()
    at_manufacturing(j)
    with pytest.raises(WrongPhase, match="tracked unit by unit"):
        decide(j.state, j.release(), COORDINATOR, j.now, PROTOCOL)


def test_with_require_chain_the_legacy_apheresis_is_refused() -> None:
    assert PROTOCOL.custody is not None
    strict = PROTOCOL.model_copy(
        update={"custody": PROTOCOL.custody.model_copy(update={"require_chain": True})}
    )
    j = enrolled(protocol=strict)
    with pytest.raises(WrongPhase, match="through the chain of custody"):
        decide(j.state, j.apheresis(), COORDINATOR, j.now, strict)


def test_a_unit_replaced_by_a_new_collection_runs_no_clock() -> None:
    j = enrolled()
    j.send(COORDINATOR, collect(j.now))
    j.send(COORDINATOR, j.failure())
    j.send(COORDINATOR, collect(j.now))
    deadline = next_deadline(j.state, PROTOCOL)
    assert deadline is not None and isinstance(deadline.command, cc.MarkCustodyOverdue)
    assert deadline.command.unit_id.endswith("-AP02")
    j.send(COORDINATOR, temperature_log(j.now, deadline.command.unit_id, [4.0, 14.0]))
    assert next_deadline(j.state, PROTOCOL) is None


# -- manufacturing slots --------------------------------------------------------------------


def test_enrollment_books_the_chain_of_slots_from_the_sites_lead_times() -> None:
    j = enrolled()
    slots = PROTOCOL.custody.slots  # type: ignore[union-attr]
    assert slots is not None
    booking = j.state.custody.booking
    assert booking is not None
    assert booking.apheresis_on >= j.today + timedelta(days=slots.days_to_apheresis)
    assert PROTOCOL.calendar.is_working_day(booking.apheresis_on)
    assert booking.manufacturing_start_on == booking.apheresis_on + timedelta(days=1)
    assert booking.release_on == booking.manufacturing_start_on + timedelta(
        days=slots.manufacturing_days + slots.release_testing_days
    )
    assert booking.at_site_on == booking.release_on + timedelta(days=slots.shipping_days)
    assert booking.earliest_infusion_on == booking.at_site_on + timedelta(days=5)
    assert (
        booking.planned_vein_to_vein_days
        == (booking.earliest_infusion_on - booking.apheresis_on).days
    )


def test_slots_are_rebooked_until_collection_and_a_past_or_closed_day_is_refused() -> None:
    j = enrolled()
    booking = j.state.custody.booking
    assert booking is not None
    later = booking.apheresis_on + timedelta(days=7)
    j.send(COORDINATOR, cc.BookSlots(occurred_at=j.now, apheresis_on=later))
    assert j.events[-1].payload.rescheduled is True  # type: ignore[union-attr]
    moved = j.state.custody.booking
    assert moved is not None and moved.apheresis_on == later
    with pytest.raises(ValueOutOfRange, match="in the past") as info:
        decide(
            j.state,
            cc.BookSlots(occurred_at=j.now, apheresis_on=j.today - timedelta(days=1)),
            COORDINATOR,
            j.now,
            PROTOCOL,
        )
    assert info.value.field == "apheresis_on"
    saturday = later + timedelta(days=(5 - later.weekday()) % 7)
    with pytest.raises(ValueOutOfRange, match="not a working day"):
        decide(
            j.state, cc.BookSlots(occurred_at=j.now, apheresis_on=saturday), COORDINATOR, j.now,
            PROTOCOL,
        )  # fmt: skip
    j.send(COORDINATOR, collect(j.now))
    with pytest.raises(WrongPhase):
        decide(
            j.state, cc.BookSlots(occurred_at=j.now, apheresis_on=later), COORDINATOR, j.now,
            PROTOCOL,
        )  # fmt: skip
