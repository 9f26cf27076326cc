"""Only subject streams appear on the board."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.actors import SYSTEM_ACTOR
from domain.events import NewEvent, SubjectEnrolled, seal
from store.base import EventStore
from tests.store.builders import Chain, registered


def test_a_stream_that_does_not_open_with_a_registration_gets_no_board_row(
    store: EventStore,
) -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    study = seal(
        [NewEvent(payload=SubjectEnrolled(dose_level="DL1", route="intravenous"), occurred_at=at)],
        stream="study-NCT06243159",
        last_seq=0,
        last_hash="",
        actor=SYSTEM_ACTOR,
        recorded_at=at,
        protocol_version="1.0",
    )
    store.append(study)
    subject = Chain("S-BOARD1")
    store.append(subject.next(registered("S-BOARD1")))
    assert [row.subject_id for row in store.board()] == ["S-BOARD1"]
    assert store.rebuild_board() == 1
