"""Audit throughput on a 200,000-event SQLite store: plain read vs verify vs replay.

Run: ``.venv/bin/python bench/audit_throughput.py [--events N] [--per-stream K] [--rounds R]
[--cohort S]``. The store is built with ``seal`` directly (no Temporal), then every measurement
reads the same file. Its events are all alike and hold no floats; ``--cohort S`` also measures a
store holding a seeded cohort's real events (S subjects, appended through the store: weights,
volumes and doses are floats, names and free text are there), plain read against verify.
verify is the whole of ``trial audit verify``: every hash recomputed under its scheme, chain
links, seqs, indexed columns, stream heads, log gaps and the Merkle root.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from audit.verify import verify_log
from domain.actors import Actor, Role
from domain.canonical import GENESIS_HASH
from domain.events import (
    Event,
    NewEvent,
    SubjectRegistered,
    VisitWindowOpened,
    parse_event,
    seal,
)
from domain.subject import fold
from store.projection import utc
from store.schema import events, stream_heads
from store.sql import SqlEventStore, envelope_text

ACTOR = Actor(user_id="bench", role=Role.COORDINATOR)
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _stream(subject: str, length: int) -> list[Event]:
    first = NewEvent(
        payload=SubjectRegistered(
            subject_id=subject, disease="SLE", sex="female", birth_date=date(1980, 1, 1),
            site_id="SBH-01",
        ),
        occurred_at=T0,
    )  # fmt: skip
    # Window-opened events fold without preconditions, so a long stream stays valid to replay.
    rest = [
        NewEvent(
            payload=VisitWindowOpened(
                code=f"V{i}", window_start=date(2026, 2, 1), window_end=date(2026, 2, 8)
            ),
            occurred_at=T0 + timedelta(minutes=i),
        )
        for i in range(1, length)
    ]
    return seal(
        [first, *rest], stream=subject, last_seq=0, last_hash=GENESIS_HASH, actor=ACTOR,
        recorded_at=T0, protocol_version="1.0",
    )  # fmt: skip


def _event_values(event: Event, log_index: int) -> dict[str, Any]:
    """One ``events`` row as ``append`` writes it (the store's own helper went with its fast
    path, which writes driver statements)."""
    return {
        "log_index": log_index,
        "stream": event.stream,
        "seq": event.seq,
        "type": event.type,
        "occurred_at": utc(event.occurred_at),
        "recorded_at": utc(event.recorded_at),
        "actor_id": event.actor.user_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "envelope": envelope_text(event),
    }


def build(store: SqlEventStore, total: int, per_stream: int) -> None:
    """Insert sealed streams as ``append`` stores them (rows, log index, heads), in bulk.

    The board projection is left out: it is not what is measured, and folding 200,000 events
    into it would make the set-up the longest part of the run.
    """
    index = 0
    batch: list[dict[str, object]] = []
    heads: list[dict[str, object]] = []
    for n in range(total // per_stream):
        sealed = _stream(f"B-{n:06d}", per_stream)
        for event in sealed:
            batch.append(_event_values(event, index))
            index += 1
        heads.append({"stream": sealed[-1].stream, "seq": sealed[-1].seq, "hash": sealed[-1].hash})
        if len(batch) >= 20_000:
            _flush(store, batch, heads)
    _flush(store, batch, heads)


def _flush(
    store: SqlEventStore, batch: list[dict[str, object]], heads: list[dict[str, object]]
) -> None:
    if batch:
        with store.engine.begin() as conn:
            conn.execute(insert(events), batch)
            conn.execute(insert(stream_heads), heads)
    batch.clear()
    heads.clear()


def _plain(store: SqlEventStore) -> int:
    plain = 0
    with store.engine.connect() as conn:
        # Parsed and dropped, not kept: holding 200k dicts would time the garbage collector.
        for text in conn.execute(select(events.c.envelope)).scalars():
            json.loads(text)
            plain += 1
    return plain


def _interleaved(
    store: SqlEventStore, rounds: int, clock: Callable[[], float]
) -> tuple[float, float]:
    """Plain read and verify in turn, so both see the same machine; each one's best rate."""
    plain_runs: list[tuple[int, float]] = []
    verify_runs: list[tuple[int, float]] = []
    for _ in range(rounds):
        for step, runs in ((_plain, plain_runs), (_verify, verify_runs)):
            started = clock()
            count = step(store)
            runs.append((count, clock() - started))
    return (
        _best("plain read (json.loads)", plain_runs),
        _best("verify (all checks + Merkle)", verify_runs),
    )


def _cohort(subjects: int, directory: Path, rounds: int, clock: Callable[[], float]) -> None:
    from cohort_events import cohort_batches

    store = SqlEventStore(f"sqlite:///{directory / 'cohort.db'}")
    try:
        for batch in cohort_batches(subjects):
            store.append(batch)
        print(f"cohort of {subjects} subjects: {store.count_events():,} real events")
        plain_rate, verify_rate = _interleaved(store, rounds, clock)
    finally:
        store.close()
    print(f"cohort verify/plain = {verify_rate / plain_rate:.3f}")


def _verify(store: SqlEventStore) -> int:
    report, _ = verify_log(store)
    assert report.clean, report.findings[:3]
    return report.events_checked


def _best(label: str, runs: list[tuple[int, float]]) -> float:
    """The fastest of the runs: on a shared machine the slower ones measure the neighbours."""
    count, seconds = min(runs, key=lambda run: run[1])
    return _rate(f"{label} (best of {len(runs)})", count, seconds)


def _rate(label: str, count: int, seconds: float) -> float:
    rate = count / seconds
    print(f"{label:<28} {count:>9,} events in {seconds:7.2f} s = {rate:>10,.0f} events/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-stream", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cohort", type=int, default=0, help="also a store of this many subjects' real events"
    )
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="cpu: this process's CPU time (steady on a shared machine); wall: elapsed time",
    )
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock} time")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlEventStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        build(store, args.events, args.per_stream)
        total = store.count_events()
        _rate("build (seal + insert)", total, time.perf_counter() - started)

        plain_rate, verify_rate = _interleaved(store, args.rounds, clock)

        started = clock()
        replayed = 0
        for _, rows in store.read_all_raw(batch_size=5_000):
            state = fold(parse_event(row) for row in rows)
            replayed += state.last_seq
        replay_rate = _rate("replay (parse_event + fold)", replayed, clock() - started)
        store.close()
        print(f"verify/plain = {verify_rate / plain_rate:.3f}")
        print(f"replay/plain = {replay_rate / plain_rate:.3f}")
        if args.cohort:
            _cohort(args.cohort, Path(tmp), args.rounds, clock)


if __name__ == "__main__":
    main()
