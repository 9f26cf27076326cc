"""The board is a view of the domain fold: the same events give the same subject (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from domain import subject
from domain.events import (
    DeviationOpened,
    Event,
    EventPayload,
    ParticipationEnded,
    VisitCompleted,
    VisitMissed,
    VisitRescheduled,
)
from domain.state import SubjectState
from domain.values import Phase, VisitStatus
from store.projection import BoardRow, board_values, fold_state
from tests.store.builders import Chain, registered, to_infusion


def sealed(*payloads: EventPayload) -> list[Event]:
    return Chain("S-001").next(*payloads)


def board_of(events: list[Event]) -> BoardRow:
    state = fold_state(events)
    assert state is not None
    return BoardRow.from_state(state, events[-1].recorded_at)


def infused() -> list[EventPayload]:
    return to_infusion("S-001")


@pytest.mark.parametrize("steps", range(1, 10))
def test_the_board_state_is_the_domain_fold_at_every_milestone(steps: int) -> None:
    events = sealed(*infused()[:steps])

    assert fold_state(events) == subject.fold(events)


@pytest.mark.parametrize(
    ("steps", "phase"),
    [(1, Phase.REGISTERED), (4, Phase.ELIGIBLE), (5, Phase.ENROLLED), (9, Phase.INFUSED)],
)
def test_the_row_shows_the_domain_phase(steps: int, phase: Phase) -> None:
    events = sealed(*infused()[:steps])

    assert board_of(events).phase is subject.fold(events).phase is phase


def test_the_row_copies_the_domain_state_and_the_last_events_time() -> None:
    events = sealed(*to_infusion("S-001", disease="DM", dose_level="DL2"))
    state = subject.fold(events)

    row = board_of(events)

    assert (row.subject_id, row.disease, row.dose_level, row.route) == (
        "S-001",
        "DM",
        "DL2",
        "intravenous",
    )
    assert (row.infusion_date, row.visits) == (state.infusion_date, state.visits)
    assert (row.last_seq, row.updated_at) == (9, events[-1].recorded_at)


def test_a_stream_that_does_not_open_with_a_registration_folds_to_nothing() -> None:
    assert fold_state(sealed(*infused()[1:3])) is None
    assert fold_state([]) is None


def test_folding_on_from_a_stored_state_equals_folding_from_the_start() -> None:
    events = sealed(*infused())
    stored = fold_state(events[:4])

    assert fold_state(events[4:], stored) == subject.fold(events)


def test_a_gap_in_the_events_is_refused_rather_than_folded() -> None:
    events = sealed(*infused())

    with pytest.raises(subject.ChainMismatch):
        fold_state(events[5:], fold_state(events[:4]))


def test_the_next_visit_is_the_earliest_planned_one_by_date() -> None:
    events = sealed(
        *infused(),
        VisitCompleted(code="M1", completed_on=date(2025, 5, 12), response="CR"),
        VisitRescheduled(code="M3", target=date(2025, 6, 1)),
    )

    row = board_of(events)

    assert row.phase is Phase.FOLLOW_UP
    assert row.visits[0].status is VisitStatus.COMPLETED
    # M3 moved ahead of M2, so schedule order and date order disagree.
    assert row.next_visit is not None and row.next_visit.code == "M3"


def test_a_missed_visit_is_no_longer_next() -> None:
    row = board_of(sealed(*infused(), VisitMissed(code="M1", window_end=date(2025, 5, 15))))

    assert row.visits[0].status is VisitStatus.MISSED
    assert row.next_visit is not None and row.next_visit.code == "M2"


def test_open_deviations_are_counted_from_the_domain_state() -> None:
    events = sealed(
        *infused()[:2],
        DeviationOpened(deviation_id="D1", kind="window", detail="late"),
        DeviationOpened(deviation_id="D2", kind="dose", detail="wrong"),
    )

    assert board_of(events).open_deviations == len(subject.fold(events).deviations) == 2


def test_an_ended_subject_has_no_next_visit() -> None:
    row = board_of(
        sealed(*infused(), ParticipationEnded(outcome="withdrawn", ended_on=date(2025, 4, 20)))
    )

    assert row.phase is Phase.WITHDRAWN
    assert row.visits and row.next_visit is None


def test_the_state_column_holds_the_domain_state_and_the_columns_copy_it() -> None:
    events = sealed(
        *infused(), VisitCompleted(code="M1", completed_on=date(2025, 5, 12), response="PR")
    )
    state = subject.fold(events)

    values = board_values(state, events[-1].recorded_at)

    assert SubjectState.model_validate_json(values["state"]) == state
    assert values["state_seq"] == state.last_seq
    assert BoardRow.model_validate_json(values["row_json"]) == board_of(events)
    assert (values["subject_id"], values["phase"], values["last_seq"]) == ("S-001", "follow_up", 10)
    assert (values["next_visit_code"], values["next_visit_target"]) == ("M2", date(2025, 6, 9))


def test_a_registration_alone_gives_a_row_without_visits() -> None:
    row = board_of(sealed(registered("S-001", disease="ANCA-AAV")))

    assert (row.disease, row.phase, row.last_seq) == ("ANCA-AAV", Phase.REGISTERED, 1)
    assert row.next_visit is None and row.open_deviations == 0
