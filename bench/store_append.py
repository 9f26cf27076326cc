"""Benchmark: our event-store append (board included) against `eventsourcing`'s recorder.

    python bench/store_append.py [--subjects 50] [--rounds 3] [--backends sqlite,postgresql]
                                 [--clock wall|cpu] [--synchronous full|normal]

The events are a seeded cohort's real events (50 subjects: 2,677 events in 2,497 batches),
decided and sealed by the domain exactly as the workflow would. Both stores get the same
batches in the same order, one ``append`` / ``insert_events`` call per batch, into a fresh
database each time; the rounds interleave the two so load on the machine hits both alike.

The peer is ``eventsourcing``'s application recorder (a global notification id, as our
``position``), given each event's stored envelope bytes ready-made, as its mapper would.
Ours gets the ``Event`` objects and does everything it does in production: recomputes every
hash, checks the chain against the stored head, writes the events, the stream head and the
subject's board row in one transaction (a new store each round, so it starts with no folded
subject in memory).

Both run in one process with the garbage collector set as the worker sets it
(system/collector.py; ``--collector default`` keeps CPython's thresholds).

On SQLite both run with the same ``PRAGMA synchronous``: FULL by default, as the store runs
(every commit waits for the disk), or NORMAL for both (``--synchronous normal``: WAL commits
reach the disk only at checkpoints). Up to 2026-11-28 ours ran with NORMAL and the recorder with
its default FULL, and the ratio measured mostly the recorder's fsyncs.

``--clock cpu`` times this process's CPU time instead of the wall clock: on a machine whose run
queue is many times its cores, wall time measures mostly the wait for a core. It leaves out the
PostgreSQL server's own work, so it is meaningful for SQLite only.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cohort_events import cohort_batches
from eventsourcing.persistence import StoredEvent
from pg import postgres_available, scratch_database
from sqlalchemy import event
from sqlalchemy.engine import make_url

from domain.events import Event
from store.sql import SqlEventStore, envelope_text
from system.collector import tune_collector

Batches = list[list[Event]]
Stored = list[list[StoredEvent]]

# Chosen by --clock: the wall clock, or this process's CPU time (user + system).
_clock: Callable[[], float] = time.perf_counter
# Chosen by --synchronous: SQLite's PRAGMA synchronous for both stores.
_synchronous = "FULL"


def _stored(batches: Batches) -> Stored:
    return [
        [
            StoredEvent(
                originator_id=e.stream,
                originator_version=e.seq,
                topic=e.type,
                state=envelope_text(e).encode("utf-8"),
            )
            for e in batch
        ]
        for batch in batches
    ]


def _set_synchronous(dbapi_connection: Any, *_: Any) -> None:
    dbapi_connection.execute(f"PRAGMA synchronous={_synchronous}")


def _ours(url: str, batches: Batches) -> float:
    store = SqlEventStore(url)
    if store.engine.dialect.name == "sqlite":
        # On checkout: the appender takes its connection from the pool (raw_connection).
        event.listen(store.engine, "checkout", _set_synchronous)
    try:
        started = _clock()
        for batch in batches:
            store.append(batch)
        elapsed = _clock() - started
        assert store.count_events() == sum(len(b) for b in batches)
        assert len(store.board()) > 0
        return elapsed
    finally:
        store.close()


def sqlite_recorder(path: Path, *pragmas: str) -> tuple[Any, Any]:
    """``eventsourcing``'s SQLite datastore and application recorder (table created) on one
    connection, so each pragma (``"synchronous=FULL"``) holds for every insert after it."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path), originator_id_type="text", pool_size=1, max_overflow=0)
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    with datastore.get_connection(commit=True) as connection:
        for pragma in pragmas:
            connection.cursor().execute(f"PRAGMA {pragma}")
    return datastore, recorder


def _es_sqlite(path: Path, stored: Stored) -> float:
    datastore, recorder = sqlite_recorder(path, f"synchronous={_synchronous}")
    try:
        started = _clock()
        for batch in stored:
            recorder.insert_events(batch)
        return _clock() - started
    finally:
        datastore.close()


def _es_postgres(url: str, stored: Stored) -> float:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parsed = make_url(url)
    datastore = PostgresDatastore(
        dbname=parsed.database or "",
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        originator_id_type="text",
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    try:
        started = _clock()
        for batch in stored:
            recorder.insert_events(batch)
        return _clock() - started
    finally:
        datastore.close()


def measure(backend: str, batches: Batches, stored: Stored, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ours": [], "eventsourcing": []}
    for number in range(rounds):
        # Alternate who goes first, so a warming cache or a neighbour's burst favours neither.
        order = ("ours", "eventsourcing") if number % 2 == 0 else ("eventsourcing", "ours")
        for who in order:
            run: Callable[[], float]
            if backend == "sqlite":
                tmp = tempfile.mkdtemp(prefix="jy231-bench-append-")
                path = Path(tmp) / f"{who}.db"
                if who == "ours":
                    run = lambda p=path: _ours(f"sqlite:///{p}", batches)  # noqa: E731
                else:
                    run = lambda p=path: _es_sqlite(p, stored)  # noqa: E731
                times[who].append(run())
            else:
                with scratch_database(who[:4]) as url:
                    if who == "ours":
                        times[who].append(_ours(url, batches))
                    else:
                        times[who].append(_es_postgres(url, stored))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument(
        "--collector",
        choices=("worker", "default"),
        default="worker",
        help="worker: the garbage collector thresholds the worker runs with (the appending "
        "process); default: CPython's",
    )
    parser.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help="SQLite's PRAGMA synchronous for both stores (full: as the store runs)",
    )
    args = parser.parse_args()
    if args.collector == "worker":
        tune_collector()
    global _clock, _synchronous
    _clock = time.process_time if args.clock == "cpu" else time.perf_counter
    _synchronous = args.synchronous.upper()

    batches = cohort_batches(args.subjects)
    stored = _stored(batches)
    events = sum(len(b) for b in batches)
    print(
        f"store append: {events} events in {len(batches)} batches, {args.rounds} rounds, "
        f"{args.clock} clock, collector thresholds {gc.get_threshold()}, "
        f"SQLite synchronous={_synchronous}"
    )
    for backend in args.backends.split(","):
        if backend == "postgresql" and not postgres_available():
            print("postgresql          skipped (no server at 127.0.0.1:5432)")
            continue
        times = measure(backend, batches, stored, args.rounds)
        ours = [events / t for t in times["ours"]]
        peer = [events / t for t in times["eventsourcing"]]
        ratios = [p / q for p, q in zip(times["eventsourcing"], times["ours"], strict=True)]
        print(
            f"{backend:<11} ours {statistics.median(ours):8.0f} ev/s   eventsourcing "
            f"{statistics.median(peer):8.0f} ev/s   ratio ours/peer "
            f"min {min(ratios):.2f} median {statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
