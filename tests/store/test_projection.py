"""The board projector as a pure fold over events (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.events import (
    DeviationOpened,
    EligibilitySigned,
    EventPayload,
    LymphodepletionPlanned,
    ManufacturingFailed,
    ParticipationEnded,
    ScreenFailed,
    VisitCompleted,
    VisitMissed,
    VisitRescheduled,
    VisitWindowOpened,
)
from domain.values import Phase, VisitStatus
from store.projection import BoardRow, fold, project
from tests.store.builders import Chain, consent, registered, to_infusion


def board_after(*payloads: EventPayload) -> BoardRow:
    row = fold(Chain("S-001").next(*payloads))
    assert row is not None
    return row


def infused() -> list[EventPayload]:
    return to_infusion("S-001")


@pytest.mark.parametrize(
    ("steps", "phase"),
    [
        (1, Phase.REGISTERED),
        (2, Phase.CONSENTED),
        (3, Phase.SCREENING),
        (4, Phase.ELIGIBLE),
        (5, Phase.ENROLLED),
        (6, Phase.APHERESIS),
        (7, Phase.AWAITING_PRODUCT),
        (8, Phase.LYMPHODEPLETION),
        (9, Phase.INFUSED),
    ],
)
def test_each_milestone_moves_the_subject_to_its_phase(steps: int, phase: Phase) -> None:
    assert board_after(*infused()[:steps]).phase is phase


def test_registration_starts_a_row_for_the_stream() -> None:
    [event] = Chain("S-007").next(registered("S-007", disease="ANCA-AAV"))

    row = project(None, event)

    assert (row.subject_id, row.disease, row.phase) == ("S-007", "ANCA-AAV", Phase.REGISTERED)
    assert (row.last_seq, row.updated_at) == (1, event.recorded_at)
    assert row.next_visit is None


def test_a_failed_screen_is_terminal() -> None:
    row = board_after(
        registered("S-001"),
        consent(),
        EligibilitySigned(decision="not_eligible", screening_seq=3),
        ScreenFailed(cause="not_eligible", detail="eGFR 24"),
    )

    assert row.phase is Phase.SCREEN_FAILED


def test_manufacturing_failure_returns_the_subject_to_enrolled() -> None:
    payloads = [*infused()[:6], ManufacturingFailed(failed_on=date(2025, 4, 1), detail="sterility")]

    assert board_after(*payloads).phase is Phase.ENROLLED


def test_a_lymphodepletion_plan_alone_does_not_change_the_phase() -> None:
    plan = LymphodepletionPlanned(
        infusion_date=date(2025, 4, 14),
        weight_kg=61.5,
        height_cm=162.0,
        egfr=88.0,
        bsa_m2=1.66,
        renal_adjusted=False,
        doses=(),
    )

    assert board_after(*infused()[:7], plan).phase is Phase.AWAITING_PRODUCT


def test_infusion_sets_the_schedule_and_the_next_visit_is_the_earliest_planned() -> None:
    row = board_after(*infused())

    assert row.infusion_date == date(2025, 4, 14)
    assert [v.code for v in row.visits] == ["M1", "M2", "M3", "M6"]
    assert row.next_visit is not None and row.next_visit.code == "M1"


def test_first_completed_visit_starts_follow_up_and_advances_the_next_visit() -> None:
    row = board_after(
        *infused(), VisitCompleted(code="M1", completed_on=date(2025, 5, 12), response="CR")
    )

    assert row.phase is Phase.FOLLOW_UP
    m1 = row.visits[0]
    assert (m1.status, m1.completed_on, m1.response) == (
        VisitStatus.COMPLETED,
        date(2025, 5, 12),
        "CR",
    )
    assert row.next_visit is not None and row.next_visit.code == "M2"


def test_a_missed_visit_is_no_longer_next() -> None:
    row = board_after(*infused(), VisitMissed(code="M1", window_end=date(2025, 5, 15)))

    assert row.visits[0].status is VisitStatus.MISSED
    assert row.next_visit is not None and row.next_visit.code == "M2"
    assert row.phase is Phase.INFUSED


def test_rescheduling_moves_the_target_and_remembers_the_original() -> None:
    row = board_after(*infused(), VisitRescheduled(code="M1", target=date(2025, 5, 13)))

    m1 = row.visits[0]
    assert (m1.target, m1.shifted_from) == (date(2025, 5, 13), date(2025, 5, 12))
    assert (m1.window_start, m1.window_end) == (date(2025, 5, 9), date(2025, 5, 15))


def test_a_reschedule_past_the_next_visit_changes_which_visit_is_next() -> None:
    row = board_after(*infused(), VisitRescheduled(code="M1", target=date(2025, 6, 30)))

    assert row.next_visit is not None and row.next_visit.code == "M2"


def test_an_opened_window_replaces_the_visit_window() -> None:
    row = board_after(
        *infused(),
        VisitWindowOpened(code="M2", window_start=date(2025, 6, 1), window_end=date(2025, 6, 20)),
    )

    assert (row.visits[1].window_start, row.visits[1].window_end) == (
        date(2025, 6, 1),
        date(2025, 6, 20),
    )


def test_deviations_are_counted() -> None:
    row = board_after(
        *infused()[:2],
        DeviationOpened(deviation_id="D1", kind="window", detail="late"),
        DeviationOpened(deviation_id="D2", kind="dose", detail="wrong"),
    )

    assert row.open_deviations == 2


@pytest.mark.parametrize(
    ("outcome", "phase"),
    [
        ("completed", Phase.COMPLETED),
        ("withdrawn", Phase.WITHDRAWN),
        ("lost_to_follow_up", Phase.LOST_TO_FOLLOW_UP),
        ("died", Phase.DIED),
    ],
)
def test_ending_participation_sets_the_outcome_phase_and_clears_the_next_visit(
    outcome: str, phase: Phase
) -> None:
    ended = ParticipationEnded.model_validate({"outcome": outcome, "ended_on": "2025-07-01"})

    row = board_after(*infused(), ended)

    assert row.phase is phase
    assert row.next_visit is None


def test_a_visit_after_participation_ended_does_not_reopen_follow_up() -> None:
    row = board_after(
        *infused(),
        ParticipationEnded(outcome="withdrawn", ended_on=date(2025, 4, 20)),
        VisitCompleted(code="M1", completed_on=date(2025, 5, 12), response="NE"),
    )

    assert row.phase is Phase.WITHDRAWN


def test_the_row_survives_a_json_round_trip_as_stored_in_the_state_column() -> None:
    row = board_after(*infused(), VisitMissed(code="M1", window_end=date(2025, 5, 15)))

    assert BoardRow.model_validate_json(row.model_dump_json()) == row
