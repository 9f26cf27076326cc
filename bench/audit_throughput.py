"""Audit throughput on a 200,000-event SQLite store: plain read vs verify vs replay.

Run: ``.venv/bin/python bench/audit_throughput.py [--events N] [--per-stream K]``. The store is
built with ``seal`` directly (no Temporal), then every measurement reads the same file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

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
from store.schema import events
from store.sql import SqlEventStore

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


def build(store: SqlEventStore, total: int, per_stream: int) -> None:
    batch: list[Event] = []
    for n in range(total // per_stream):
        batch.extend(_stream(f"B-{n:06d}", per_stream))
        if len(batch) >= 20_000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)


def _rate(label: str, count: int, seconds: float) -> float:
    rate = count / seconds
    print(f"{label:<28} {count:>9,} events in {seconds:7.2f} s = {rate:>10,.0f} events/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-stream", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlEventStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        build(store, args.events, args.per_stream)
        total = store.count_events()
        _rate("build (seal + append)", total, time.perf_counter() - started)

        started = time.perf_counter()
        plain = 0
        with store.engine.connect() as conn:
            # Parsed and dropped, not kept: holding 200k dicts would time the garbage collector.
            for text in conn.execute(select(events.c.envelope)).scalars():
                json.loads(text)
                plain += 1
        plain_rate = _rate("plain read (json.loads)", plain, time.perf_counter() - started)

        started = time.perf_counter()
        report, _ = verify_log(store)
        assert report.clean, report.findings[:3]
        verify_rate = _rate(
            "verify (all checks + Merkle)", report.events_checked, time.perf_counter() - started
        )

        started = time.perf_counter()
        replayed = 0
        for _, rows in store.read_all_raw(batch_size=5_000):
            state = fold(parse_event(row) for row in rows)
            replayed += state.last_seq
        replay_rate = _rate("replay (parse_event + fold)", replayed, time.perf_counter() - started)
        store.close()

    print(f"verify/plain = {verify_rate / plain_rate:.3f}")
    print(f"replay/plain = {replay_rate / plain_rate:.3f}")


if __name__ == "__main__":
    main()
