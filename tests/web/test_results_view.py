"""What the subject page derives for issue 12, on subjects folded by the real ``decide``: the
re-check states (fresh, stale, missing, unacceptable, not required), the renal basis before and
after planning, the infusion weight, and each SUSAR report's state (due, overdue, sent, late)."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as c
from domain.measurements import PregnancyTest
from domain.protocol import load_protocol
from tests.domain.journey import COORDINATOR, INVESTIGATOR, SYSTEM, Journey
from tests.domain.prechecks import weight_command
from tests.safety.test_adverse_events import ae
from web.results_view import results_view
from web.susar_view import susar_rows

PROTOCOL = load_protocol()
GBS = {"term": "Guillain-Barre syndrome", "grade": 3, "seriousness": ("hospitalisation",)}


def _awaiting_product() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("awaiting_product")
    return j


def _statuses(j: Journey, days_later: int = 0) -> dict[str, str]:
    view = results_view(j.state, PROTOCOL, j.today + timedelta(days=days_later))
    assert view is not None
    return {r.what: r.status for r in view.rechecks}


def test_before_planning_the_recheck_counts_back_from_today() -> None:
    j = _awaiting_product()
    assert set(_statuses(j).values()) == {"missing"}
    j.prechecks()
    assert set(_statuses(j).values()) == {"fresh"}
    # Four days on, the 3-day windows have lapsed and the 7-day ones have not.
    assert _statuses(j, 4) == {
        "infection": "stale",
        "pregnancy_test": "stale",
        "renal": "fresh",
        "blood_counts": "fresh",
        "weight": "fresh",
    }


def test_a_positive_pregnancy_test_is_unacceptable_with_the_domains_message() -> None:
    j = _awaiting_product()
    j.prechecks()
    positive = PregnancyTest(collected_on=j.today, sample="serum", result="positive")
    j.send(COORDINATOR, c.RecordMeasurement(occurred_at=j.now, measurement=positive))
    view = results_view(j.state, PROTOCOL, j.today)
    assert view is not None
    row = next(r for r in view.rechecks if r.what == "pregnancy_test")
    assert row.status == "unacceptable"
    assert row.message is not None and "positive" in row.message


def test_no_pregnancy_test_is_asked_of_a_woman_not_of_childbearing_potential() -> None:
    j = _awaiting_product()
    state = j.state.model_copy(update={"childbearing_potential": False})
    view = results_view(state, PROTOCOL, j.today)
    assert view is not None
    row = next(r for r in view.rechecks if r.what == "pregnancy_test")
    assert (row.status, row.message) == ("not_required", None)


def test_after_planning_the_page_shows_the_plans_renal_basis_and_first_dose() -> None:
    j = _awaiting_product()
    j.prechecks()
    before = results_view(j.state, PROTOCOL, j.today)
    assert before is not None and before.renal[0].basis == "current"
    assert before.renal[0].factor == 1.0 and not before.first_dose_planned
    j.send(INVESTIGATOR, j.plan())
    view = results_view(j.state, PROTOCOL, j.today)
    assert view is not None and view.first_dose_planned
    assert j.state.ld_plan is not None
    assert view.first_dose == j.state.ld_plan.infusion_date - timedelta(days=5)
    (renal,) = view.renal
    assert renal.basis == "plan" and "Cockcroft–Gault" in renal.assessment
    assert renal.rule.startswith("fludara_label") and renal.override is None
    assert view.weight is not None and view.weight.change_percent == 0.0


def test_the_infusion_weight_change_is_shown_against_the_tolerance() -> None:
    j = _awaiting_product()
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    j.send(COORDINATOR, weight_command(j.now, j.today, 66.6))
    view = results_view(j.state, PROTOCOL, j.today)
    assert view is not None and view.weight is not None
    assert (view.weight.planning_kg, view.weight.latest_kg) == (60.0, 66.6)
    assert view.weight.change_percent == 11.0 and view.weight.tolerance_percent == 10.0
    assert view.weight.confirmed is None


def test_susar_reports_are_due_then_overdue_by_date_or_mark_and_sent_late_after_the_clock() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("consented")
    j.send(INVESTIGATOR, ae(j, **GBS))
    ae_id = j.state.adverse_events[0].ae_id
    (row,) = susar_rows(j.state, PROTOCOL, j.today)
    assert row.category == "other"
    assert [(r.recipient, r.kind, r.status) for r in row.reports] == [
        ("regulator", "initial", "due"),
        ("ethics_committee", "initial", "due"),
        ("sponsor", "initial", "due"),
    ]
    assert row.reports[0].due_at == row.since + timedelta(days=15)
    # The day after the due day, before the timer has marked it: overdue by date.
    later = susar_rows(j.state, PROTOCOL, j.today + timedelta(days=16))
    assert {r.status for r in later[0].reports} == {"overdue"}

    j.advance(16)
    j.send(
        SYSTEM,
        c.MarkSusarOverdue(occurred_at=j.now, ae_id=ae_id, recipient="regulator", kind="initial"),
    )
    j.send(
        COORDINATOR,
        c.ReportSusar(
            occurred_at=j.now,
            ae_id=ae_id,
            recipient="sponsor",
            kind="initial",
            reported_at=j.now,
            reference="LATE-1",
        ),
    )
    (row,) = susar_rows(j.state, PROTOCOL, j.today)
    assert row.overdue
    assert {r.recipient: r.status for r in row.reports} == {
        "regulator": "overdue",
        "ethics_committee": "overdue",
        "sponsor": "sent_late",
    }
    assert row.reports[2].reference == "LATE-1"
