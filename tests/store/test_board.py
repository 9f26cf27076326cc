"""The subject board read model, kept in the same transaction as the events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete

from domain import commands as c
from domain import subject
from domain.events import Event, VisitCompleted
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.values import Disease, Phase
from store import projection as projection_module
from store.errors import ConflictingEvent
from store.projection import BoardRow
from store.schema import subject_board
from store.sql import SqlEventStore
from tests.domain.journey import COORDINATOR, Journey
from tests.store.builders import Chain, consent, registered, to_infusion


def folded(store: SqlEventStore, stream: str) -> BoardRow:
    """What the domain's own fold of the stored events puts on the board."""
    events = store.read_stream(stream)
    return BoardRow.from_state(subject.fold(events), events[-1].recorded_at)


def test_an_append_updates_the_subjects_board_row(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(*to_infusion("S-001", dose_level="DL2")))

    row = store.board_row("S-001")

    assert row is not None
    assert (row.phase, row.disease, row.dose_level) == (Phase.INFUSED, "SLE", "DL2")
    assert row.infusion_date == date(2025, 4, 14)
    assert row.next_visit is not None and row.next_visit.code == "M1"
    assert row.last_seq == 9
    assert row == folded(store, "S-001")


def test_board_columns_carry_the_next_visit_for_sql_readers(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(*to_infusion("S-001")))
    store.append(
        chain.next(VisitCompleted(code="M1", completed_on=date(2025, 5, 12), response="PR"))
    )

    with store.engine.connect() as conn:
        stored = conn.execute(subject_board.select()).one()

    assert stored.phase == "follow_up"
    assert (stored.next_visit_code, stored.next_visit_target) == ("M2", date(2025, 6, 9))
    assert stored.next_visit_window_start == date(2025, 6, 2)
    assert stored.next_visit_window_end == date(2025, 6, 16)


def test_a_refused_append_leaves_neither_events_nor_board_changes(
    store: SqlEventStore,
) -> None:
    a, b = Chain("S-001"), Chain("S-002")
    store.append(a.next(registered("S-001")))
    store.append(b.next(registered("S-002")))
    before = store.board()
    # S-001's part is valid; S-002's part rewrites stored history, so the whole batch fails.
    rival = Chain("S-002").peek(registered("S-002", disease="DM"))

    with pytest.raises(ConflictingEvent):
        store.append(a.peek(consent()) + rival)

    assert store.board() == before
    assert store.count_events() == 2


def test_a_failing_projection_rolls_back_the_events(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = Chain("S-001")
    store.append(chain.next(registered("S-001")))

    def failing(state: SubjectState, event: Event) -> SubjectState:
        raise RuntimeError("read model bug")

    monkeypatch.setattr(projection_module, "apply", failing)

    with pytest.raises(RuntimeError, match="read model bug"):
        store.append(chain.peek(consent()))

    assert store.count_events() == 1
    assert store.head("S-001") == (1, chain.hash)
    row = store.board_row("S-001")
    assert row is not None and row.phase is Phase.REGISTERED


def test_board_filters_combine(store: SqlEventStore) -> None:
    subjects: list[tuple[str, Disease, str, int]] = [
        ("S-001", "SLE", "DL1", 9),
        ("S-002", "SLE", "DL2", 9),
        ("S-003", "DM", "DL1", 9),
        ("S-004", "SLE", "DL1", 2),
    ]
    for subject_id, disease, dose_level, length in subjects:
        payloads = to_infusion(subject_id, disease=disease, dose_level=dose_level)[:length]
        store.append(Chain(subject_id).next(*payloads))

    def ids(rows: list[BoardRow]) -> list[str]:
        return [r.subject_id for r in rows]

    assert ids(store.board()) == ["S-001", "S-002", "S-003", "S-004"]
    assert ids(store.board(phase="infused")) == ["S-001", "S-002", "S-003"]
    assert ids(store.board(disease="SLE")) == ["S-001", "S-002", "S-004"]
    assert ids(store.board(dose_level="DL1")) == ["S-001", "S-003"]
    assert ids(store.board(phase=Phase.INFUSED, disease="SLE", dose_level="DL1")) == ["S-001"]
    assert ids(store.board(phase="consented")) == ["S-004"]
    assert store.board(disease="SSc") == []


def test_a_board_row_that_fell_behind_catches_up_from_the_log(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(*to_infusion("S-001")[:4]))
    with store.engine.begin() as conn:
        conn.execute(delete(subject_board))

    store.append(chain.next(*to_infusion("S-001")[4:]))

    assert store.board_row("S-001") == folded(store, "S-001")


def test_rebuild_board_reproduces_the_incrementally_kept_rows(store: SqlEventStore) -> None:
    for subject_id, length in (("S-001", 9), ("S-002", 3)):
        chain = Chain(subject_id)
        for payload in to_infusion(subject_id)[:length]:
            store.append(chain.next(payload))
    incremental = store.board()

    assert store.rebuild_board() == 2
    assert store.board() == incremental


def test_a_corrected_visit_date_shows_on_the_board(
    store: SqlEventStore, protocol: Protocol
) -> None:
    j = Journey(protocol, subject_id="S-0001")
    j.to_phase("follow_up")
    j.send(COORDINATOR, j.complete("M1"))
    completion = j.events[-1]
    store.append(j.events)
    assert store.board_row("S-0001") == folded(store, "S-0001")
    before = j.state.visit("M1")
    assert before is not None and before.completed_on is not None
    corrected = before.completed_on - timedelta(days=1)

    store.append(
        j.send(
            COORDINATOR,
            c.RecordCorrection(
                occurred_at=j.now,
                target_seq=completion.seq,
                field="completed_on",
                new_value=corrected.isoformat(),
                reason="source document shows the day before",
            ),
        )
    )

    row = store.board_row("S-0001")
    assert row is not None
    m1 = next(v for v in row.visits if v.code == "M1")
    assert m1.completed_on == corrected
    assert row == folded(store, "S-0001")
    assert row.last_seq == j.state.last_seq and row.updated_at == j.events[-1].recorded_at
