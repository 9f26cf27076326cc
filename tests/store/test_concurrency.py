"""Many writers at once: the store must serialise them into one gapless chain."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from audit.verify import verify_log
from domain.actors import Actor, Role
from domain.canonical import GENESIS_HASH
from domain.events import DeviationOpened, NewEvent, seal, verify_chain
from store.errors import ConflictingEvent, SeqConflict
from store.schema import events as events_table
from store.sql import SqlEventStore
from tests.store.builders import T0, Chain, registered

WRITERS = 8
EVENTS_PER_WRITER = 6


def _append_until_stored(store: SqlEventStore, stream: str, writer: int, n: int) -> int:
    """Decide against the current head and append; on losing a race, re-read and retry."""
    actor = Actor(user_id=f"writer-{writer}", role=Role.INVESTIGATOR)
    attempts = 0
    while True:
        attempts += 1
        head = store.head(stream)
        last_seq, last_hash = head if head is not None else (0, GENESIS_HASH)
        payload = DeviationOpened(deviation_id=f"D-{writer}-{n}", kind="test", detail="race")
        batch = seal(
            [NewEvent(payload=payload, occurred_at=T0)],
            stream=stream,
            last_seq=last_seq,
            last_hash=last_hash,
            actor=actor,
            recorded_at=T0,
            protocol_version="1.0",
        )
        try:
            store.append(batch)
            return attempts
        except (SeqConflict, ConflictingEvent):
            continue


def test_concurrent_appends_to_one_stream_leave_no_gaps_or_duplicates(
    store: SqlEventStore,
) -> None:
    store.append(Chain("S-001").next(registered("S-001")))
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        start.wait()
        for n in range(EVENTS_PER_WRITER):
            _append_until_stored(store, "S-001", index, n)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(writer, i) for i in range(WRITERS)]:
            future.result()

    raw = store.read_raw("S-001")
    total = 1 + WRITERS * EVENTS_PER_WRITER
    assert [r["seq"] for r in raw] == list(range(1, total + 1))
    assert verify_chain("S-001", raw) is None
    assert store.count_events() == total
    ids = {r["payload"]["deviation_id"] for r in raw[1:]}
    assert len(ids) == WRITERS * EVENTS_PER_WRITER
    board = store.board_row("S-001")
    assert board is not None
    assert (board.open_deviations, board.last_seq) == (total - 1, total)


def test_the_same_batch_appended_concurrently_is_stored_once(store: SqlEventStore) -> None:
    batch = Chain("S-001").next(registered("S-001"))
    start = threading.Barrier(WRITERS)

    def writer() -> int:
        start.wait()
        return store.append(batch).written

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        written = [f.result() for f in [pool.submit(writer) for _ in range(WRITERS)]]

    assert sorted(written) == [0] * (WRITERS - 1) + [1]
    assert store.count_events() == 1


STREAMS = 6


def test_concurrent_appends_from_several_processes_keep_the_log_gapless_and_chains_valid(
    store_url: str,
) -> None:
    # One store per writer: separate connections and separate memory, as separate processes.
    stores = [SqlEventStore(store_url) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        start.wait()
        for n in range(EVENTS_PER_WRITER):
            # Writers overlap on streams, so heads race as well as the log.
            stream = f"S-{(index + n) % STREAMS:03d}"
            if stores[index].head(stream) is None:
                # Racing registrations are the same event: the losers' count as duplicates.
                stores[index].append(Chain(stream).next(registered(stream)))
            _append_until_stored(stores[index], stream, index, n)

    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            for future in [pool.submit(writer, i) for i in range(WRITERS)]:
                future.result()
        report, snapshot = verify_log(stores[0])
        with stores[0].engine.connect() as conn:
            indexes = sorted(conn.execute(select(events_table.c.log_index)).scalars())
    finally:
        for opened in stores:
            opened.close()

    assert report.clean, report.findings
    total = len(indexes)
    assert indexes == list(range(total))
    assert total == len(snapshot.places) == STREAMS + WRITERS * EVENTS_PER_WRITER
    with SqlEventStore(store_url) as check:
        for n in range(STREAMS):
            stream = f"S-{n:03d}"
            raw = check.read_raw(stream)
            assert verify_chain(stream, raw) is None
            row = check.board_row(stream)
            assert row is not None and row.last_seq == len(raw)
            assert row.open_deviations == len(raw) - 1
