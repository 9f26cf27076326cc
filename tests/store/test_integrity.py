"""What the store refuses: gaps, forks, rewritten history, tampered or malformed batches."""

from __future__ import annotations

import pickle

import pytest

from domain.actors import Actor, Role
from store.errors import (
    ConflictingEvent,
    InvalidEvent,
    PrevHashMismatch,
    SeqConflict,
)
from store.sql import SqlEventStore
from tests.store.builders import Chain, consent, enrolled, registered

OTHER_ACTOR = Actor(user_id="coord-2", role=Role.COORDINATOR)


def test_a_batch_that_skips_a_seq_is_refused(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(registered("S-001")))
    chain.next(consent())  # sealed but never stored: the next batch would leave a gap

    with pytest.raises(SeqConflict) as caught:
        store.append(chain.next(enrolled()))

    assert (caught.value.expected_seq, caught.value.offered_seq) == (2, 3)
    assert store.count_events() == 1


def test_a_new_stream_must_start_at_seq_one(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    chain.next(registered("S-001"))

    with pytest.raises(SeqConflict):
        store.append(chain.next(consent()))
    assert store.streams() == []


def test_a_retried_append_with_the_same_hash_is_accepted_without_a_duplicate_row(
    store: SqlEventStore,
) -> None:
    batch = Chain("S-001").next(registered("S-001"), consent())
    store.append(batch)

    retry = store.append(batch)

    assert (retry.written, retry.duplicates) == (0, 2)
    assert store.count_events() == 2
    assert retry.heads["S-001"].seq == 2


def test_a_retry_arriving_after_later_appends_is_still_accepted(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    first = chain.next(registered("S-001"))
    store.append(first)
    store.append(chain.next(consent()))

    retry = store.append(first)

    assert (retry.written, retry.duplicates) == (0, 1)
    assert store.count_events() == 2


def test_a_batch_overlapping_the_head_stores_only_the_new_tail(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    both = chain.peek(registered("S-001"), consent())
    store.append(both[:1])

    result = store.append(both)

    assert (result.written, result.duplicates) == (1, 1)
    assert store.read_stream("S-001") == both


def test_a_different_event_at_a_stored_seq_raises_conflicting_event(
    store: SqlEventStore,
) -> None:
    chain = Chain("S-001")
    stored = chain.peek(registered("S-001"))
    store.append(stored)
    rival = chain.peek(registered("S-001"), actor=OTHER_ACTOR)

    with pytest.raises(ConflictingEvent) as caught:
        store.append(rival)

    message = str(caught.value)
    assert "'S-001'" in message and "seq 1" in message
    assert stored[0].hash in message and rival[0].hash in message
    assert store.read_stream("S-001") == stored


def test_an_event_not_linked_to_the_stored_head_is_refused(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(registered("S-001")))
    chain.hash = "f" * 64  # a caller whose idea of the head forked from the store's

    with pytest.raises(PrevHashMismatch) as caught:
        store.append(chain.next(consent()))

    assert caught.value.offered_hash == "f" * 64
    assert store.count_events() == 1


def test_an_event_whose_hash_does_not_match_its_content_is_refused(
    store: SqlEventStore,
) -> None:
    [event] = Chain("S-001").next(registered("S-001"))
    tampered = event.model_copy(update={"reason": "edited after sealing"})

    with pytest.raises(InvalidEvent, match="does not match"):
        store.append([tampered])
    assert store.count_events() == 0


def test_a_batch_with_a_hole_inside_it_is_refused(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    first = chain.next(registered("S-001"))
    chain.next(consent())
    third = chain.next(enrolled())

    with pytest.raises(InvalidEvent, match="does not directly follow"):
        store.append(first + third)
    assert store.count_events() == 0


@pytest.mark.parametrize(
    "error",
    [
        SeqConflict("S-001", 3, 5),
        ConflictingEvent("S-001", 2, "a" * 64, "b" * 64),
        PrevHashMismatch("S-001", 2, "a" * 64, "b" * 64),
    ],
)
def test_errors_survive_pickling_with_their_facts(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
