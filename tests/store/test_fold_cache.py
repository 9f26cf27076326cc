"""The board after any sequence of appends is the domain's fold of the stored events, whether the
appending process held the subject's state in memory, resumed from the stored state or folded
from the first event."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from domain import subject
from domain.events import DeviationOpened, Event
from store.errors import ConflictingEvent
from store.fold_cache import FoldCache, Folded
from store.projection import BoardRow
from store.schema import subject_snapshots
from store.sql import SqlEventStore
from tests.store.builders import Chain, to_infusion


def folded(store: SqlEventStore, stream: str) -> BoardRow:
    events = store.read_stream(stream)
    return BoardRow.from_state(subject.fold(events), events[-1].recorded_at)


def deviation(n: int) -> DeviationOpened:
    return DeviationOpened(deviation_id=f"D-{n}", kind="test", detail=f"deviation {n}")


def stored_state_seq(store: SqlEventStore, stream: str) -> int:
    with store.engine.connect() as conn:
        found = conn.execute(
            select(subject_snapshots.c.state_seq).where(subject_snapshots.c.subject_id == stream)
        ).scalar_one()
    return int(found)


def test_two_processes_taking_turns_on_one_subject_keep_the_board_equal_to_the_fold(
    store_url: str,
) -> None:
    # Two stores are two processes: each append by one leaves the other's memory stale, so every
    # append after the first few resumes from the stored state or folds from the start.
    chain = Chain("S-001")
    with SqlEventStore(store_url) as one, SqlEventStore(store_url) as two:
        one.append(chain.next(*to_infusion("S-001")))
        for n in range(90):
            (one if n % 3 else two).append(chain.next(deviation(n)))
            assert one.board_row("S-001") == folded(one, "S-001"), n

        row = two.board_row("S-001")
        assert row is not None and (row.last_seq, row.open_deviations) == (99, 90)
        # The state is stored now and then, not on every append.
        assert 32 <= stored_state_seq(one, "S-001") < 99


def test_a_stored_state_that_does_not_lead_to_the_head_is_ignored(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(*to_infusion("S-001")))
    for n in range(40):
        store.append(chain.next(deviation(n)))
    assert stored_state_seq(store, "S-001") > 0
    # Another subject's state where this one's belongs (a restored backup, a hand edit).
    other = Chain("S-002").next(*to_infusion("S-002"))
    alien = subject.fold(other).model_dump_json()
    with store.engine.begin() as conn:
        conn.execute(update(subject_snapshots).values(state=alien, state_seq=9))

    with SqlEventStore(store.url) as fresh:
        fresh.append(chain.next(deviation(99)))
        assert fresh.board_row("S-001") == folded(fresh, "S-001")


def test_a_retried_batch_after_the_commit_changes_nothing_on_the_board(
    store: SqlEventStore,
) -> None:
    chain = Chain("S-001")
    batch = chain.next(*to_infusion("S-001"))
    store.append(batch)
    before = store.board_row("S-001")

    result = store.append(batch)

    assert (result.written, result.duplicates) == (0, len(batch))
    assert store.board_row("S-001") == before == folded(store, "S-001")


def stream_of(n: int) -> list[Event]:
    return Chain("S-001").next(*to_infusion("S-001")[:n])


def test_the_cache_answers_only_for_the_exact_head_it_was_folded_to() -> None:
    events = stream_of(3)
    state = subject.fold(events)
    cache = FoldCache(capacity=2)
    cache.put("S-001", Folded(3, events[-1].hash, state, 0))

    assert cache.get("S-001", 3, events[-1].hash) is not None
    assert cache.get("S-001", 3, events[-2].hash) is None
    assert cache.get("S-001", 2, events[-1].hash) is None
    assert cache.get("S-002", 3, events[-1].hash) is None


def test_the_cache_forgets_the_least_recently_used_stream_first() -> None:
    events = stream_of(1)
    entry = Folded(1, events[0].hash, subject.fold(events), 0)
    cache = FoldCache(capacity=2)
    cache.put("A", entry)
    cache.put("B", entry)
    assert cache.get("A", 1, events[0].hash) is entry
    cache.put("C", entry)

    assert cache.get("B", 1, events[0].hash) is None
    assert cache.get("A", 1, events[0].hash) is entry
    assert cache.get("C", 1, events[0].hash) is entry
    with pytest.raises(ValueError, match="capacity"):
        FoldCache(capacity=-1)


def test_a_batch_continuing_this_process_last_write_is_refused_if_another_moved_the_head(
    store_url: str,
) -> None:
    # On PostgreSQL the first store sends such a batch in one round trip, trusting its memory of
    # the head; the head it finds moved must refuse the batch exactly as the ordinary way does.
    mine = Chain("S-001")
    with SqlEventStore(store_url) as one, SqlEventStore(store_url) as two:
        one.append(mine.next(*to_infusion("S-001")))
        rival = Chain("S-001")
        rival.seq, rival.hash, rival.clock = mine.seq, mine.hash, mine.clock
        two.append(rival.next(deviation(1)))

        with pytest.raises(ConflictingEvent):
            one.append(mine.next(deviation(2)))

        assert one.count_events() == 10
        assert one.head("S-001") == (10, rival.hash)
        assert one.board_row("S-001") == folded(one, "S-001")
