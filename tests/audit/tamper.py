"""Sample histories and the ways someone with database access could rewrite them.

Tampering goes straight to the events table with SQL, as an attacker (or a careless DBA) would,
bypassing every check of ``append``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from domain.actors import Actor, Role
from domain.canonical import canonical_text
from domain.events import (
    CorrectionRecorded,
    DeviationOpened,
    Event,
    NewEvent,
    compute_hash,
    parse_event,
    seal,
)
from store.schema import events, stream_heads, subject_board
from store.sql import SqlEventStore
from tests.store.builders import Chain, to_infusion

SUBJECTS = ("S-001", "S-002")
FORGER = Actor(user_id="mallory", role=Role.PI)


def populate(store: SqlEventStore) -> None:
    for subject in SUBJECTS:
        chain = Chain(subject)
        for payload in to_infusion(subject):
            store.append(chain.next(payload))
    # S-001's apheresis volume (seq 6) is corrected, with the reason staff gave.
    correction = seal(
        [
            NewEvent(
                payload=CorrectionRecorded(
                    target_seq=6, field="volume_ml", old_value=212.5, new_value=221.5
                ),
                occurred_at=chain_clock(store, "S-001"),
                reason="transcription error: the bag label reads 221.5 mL",
            )
        ],
        stream="S-001",
        last_seq=9,
        last_hash=store.read_stream("S-001")[-1].hash,
        actor=Actor(user_id="coord-1", role=Role.COORDINATOR),
        recorded_at=chain_clock(store, "S-001"),
        protocol_version="1.0",
    )
    store.append(correction)


def grow(store: SqlEventStore) -> None:
    """Honest growth after a checkpoint: a new subject and one more event for S-002.

    Recorded now, as the workflow would (verify flags events that come after a checkpoint but
    claim to have been recorded well before it).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    chain = Chain("S-003")
    chain.clock = now
    for payload in to_infusion("S-003")[:3]:
        store.append(chain.next(payload))
    last = store.read_stream("S-002")[-1]
    store.append(
        seal(
            [
                NewEvent(
                    payload=DeviationOpened(
                        deviation_id="S-002-DEV-1", kind="visit_window", detail="late visit"
                    ),
                    occurred_at=now,
                )
            ],
            stream="S-002",
            last_seq=last.seq,
            last_hash=last.hash,
            actor=Actor(user_id="coord-1", role=Role.COORDINATOR),
            recorded_at=now + timedelta(seconds=1),
            protocol_version="1.0",
        )
    )


def chain_clock(store: SqlEventStore, stream: str) -> Any:
    return store.read_stream(stream)[-1].recorded_at + timedelta(hours=1)


def _envelope(store: SqlEventStore, stream: str, seq: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        text = conn.execute(
            select(events.c.envelope).where(events.c.stream == stream, events.c.seq == seq)
        ).scalar_one()
    data: dict[str, Any] = json.loads(text)
    return data


def rewrite(
    store: SqlEventStore,
    stream: str,
    seq: int,
    change: Callable[[dict[str, Any]], None],
    *,
    sync_columns: bool = False,
) -> None:
    """Edit one stored envelope in place (the stored hash stays as it was).

    ``sync_columns`` also rewrites the indexed columns to match, as a careful forger would.
    """
    data = _envelope(store, stream, seq)
    change(data)
    values: dict[str, Any] = {"envelope": canonical_text(data, data.get("hash_scheme"))}
    if sync_columns:
        values.update(_columns(parse_event(data)))
    with store.engine.begin() as conn:
        conn.execute(
            update(events).where(events.c.stream == stream, events.c.seq == seq).values(**values)
        )


def _columns(event: Event) -> dict[str, Any]:
    return {
        "type": event.type,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "actor_id": event.actor.user_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def swap(store: SqlEventStore, stream: str, a: int, b: int) -> None:
    """Exchange the positions of two events, through a free seq so the unique key holds."""
    with store.engine.begin() as conn:
        for old, new in ((a, -1), (b, a), (-1, b)):
            conn.execute(
                update(events).where(events.c.stream == stream, events.c.seq == old).values(seq=new)
            )


def remove(store: SqlEventStore, stream: str, seq: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(events).where(events.c.stream == stream, events.c.seq == seq))


def _forged(stream: str, seq: int, prev_hash: str) -> Event:
    """A well-formed event with a correct hash: only its place in the chain can betray it."""
    payload = DeviationOpened(
        deviation_id=f"{stream}-DEV-X", kind="forged", detail="never happened"
    )
    return seal(
        [NewEvent(payload=payload, occurred_at=Chain(stream).clock)],
        stream=stream,
        last_seq=seq - 1,
        last_hash=prev_hash,
        actor=FORGER,
        recorded_at=Chain(stream).clock,
        protocol_version="1.0",
    )[0]


def _insert_row(store: SqlEventStore, event: Event, log_index: int | None = None) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(events).values(
                log_index=log_index,
                stream=event.stream,
                seq=event.seq,
                type=event.type,
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
                actor_id=event.actor.user_id,
                prev_hash=event.prev_hash,
                hash=event.hash,
                envelope=event.envelope_text(),
            )
        )


def insert_between(store: SqlEventStore, stream: str, seq: int) -> None:
    """Slip a forged event in at ``seq``, moving the later rows one place up."""
    last = max(e.seq for e in store.read_stream(stream))
    with store.engine.begin() as conn:
        # Highest first, so no two rows ever share a seq.
        for moving in range(last, seq - 1, -1):
            conn.execute(
                update(events)
                .where(events.c.stream == stream, events.c.seq == moving)
                .values(seq=moving + 1)
            )
    prev_hash = parse_event(_envelope(store, stream, seq - 1)).hash
    _insert_row(store, _forged(stream, seq, prev_hash))


def append_forged(store: SqlEventStore, stream: str) -> int:
    """Add a correctly chained event after the last one, without touching stream_heads."""
    last = store.read_stream(stream)[-1]
    forged = _forged(stream, last.seq + 1, last.hash)
    _insert_row(store, forged)
    return forged.seq


def replace_last(store: SqlEventStore, stream: str) -> int:
    """Swap the stream's last event for a different, correctly chained one in the same log slot.

    ``stream_heads`` is left alone: only its hash can tell the events apart.
    """
    stored = store.read_stream(stream)
    last, before = stored[-1], stored[-2]
    with store.engine.begin() as conn:
        slot = conn.execute(
            select(events.c.log_index).where(events.c.stream == stream, events.c.seq == last.seq)
        ).scalar_one()
    remove(store, stream, last.seq)
    _insert_row(store, _forged(stream, last.seq, before.hash), log_index=slot)
    return last.seq


def set_column(store: SqlEventStore, stream: str, seq: int, **values: Any) -> None:
    """Change indexed columns only; the envelope (and every hash) stays as written."""
    with store.engine.begin() as conn:
        conn.execute(
            update(events).where(events.c.stream == stream, events.c.seq == seq).values(**values)
        )


def delete_last_fixing_head(store: SqlEventStore, stream: str) -> int:
    """Delete the stream's last event and move stream_heads back to the one before."""
    stored = store.read_stream(stream)
    last, before = stored[-1], stored[-2]
    remove(store, stream, last.seq)
    with store.engine.begin() as conn:
        conn.execute(
            update(stream_heads)
            .where(stream_heads.c.stream == stream)
            .values(seq=before.seq, hash=before.hash)
        )
    return last.seq


def delete_stream(store: SqlEventStore, stream: str) -> None:
    """Make a subject disappear: its events, its head and its board row."""
    with store.engine.begin() as conn:
        conn.execute(delete(events).where(events.c.stream == stream))
        conn.execute(delete(stream_heads).where(stream_heads.c.stream == stream))
        conn.execute(delete(subject_board).where(subject_board.c.subject_id == stream))


def rewrite_consistently(
    store: SqlEventStore, stream: str, seq: int, change: Callable[[dict[str, Any]], None]
) -> None:
    """Edit one event, then re-hash and re-link every later event, columns and head included.

    The stream's own chain is then perfect: only a record kept outside the store can tell.
    """
    prev: str | None = None
    last: Event | None = None
    for event in store.read_stream(stream):
        if event.seq < seq:
            continue
        data = _envelope(store, stream, event.seq)
        if event.seq == seq:
            change(data)
        if prev is not None:
            data["prev_hash"] = prev
        data["hash"] = compute_hash(data)
        prev = data["hash"]
        with store.engine.begin() as conn:
            conn.execute(
                update(events)
                .where(events.c.stream == stream, events.c.seq == event.seq)
                .values(
                    envelope=canonical_text(data, data.get("hash_scheme")),
                    **_columns(parse_event(data)),
                )
            )
        last = parse_event(data)
    assert last is not None
    with store.engine.begin() as conn:
        conn.execute(
            update(stream_heads).where(stream_heads.c.stream == stream).values(hash=last.hash)
        )


def append_forged_with_head(store: SqlEventStore, stream: str) -> int:
    """Append a correctly chained event in the next log slot and move the head onto it."""
    last = store.read_stream(stream)[-1]
    forged = _forged(stream, last.seq + 1, last.hash)
    with store.engine.begin() as conn:
        top = conn.execute(select(func.max(events.c.log_index))).scalar_one()
    _insert_row(store, forged, log_index=int(top) + 1)
    with store.engine.begin() as conn:
        conn.execute(
            update(stream_heads)
            .where(stream_heads.c.stream == stream)
            .values(seq=forged.seq, hash=forged.hash)
        )
    return forged.seq


def rehash(
    store: SqlEventStore, stream: str, seq: int, change: Callable[[dict[str, Any]], None]
) -> None:
    """Edit an envelope and recompute its own hash: the next event's prev_hash must catch it."""

    def change_and_rehash(data: dict[str, Any]) -> None:
        change(data)
        data["hash"] = compute_hash(data)

    rewrite(store, stream, seq, change_and_rehash, sync_columns=True)


__all__ = [
    "FORGER",
    "SUBJECTS",
    "append_forged",
    "append_forged_with_head",
    "delete_last_fixing_head",
    "delete_stream",
    "grow",
    "insert_between",
    "populate",
    "rehash",
    "remove",
    "replace_last",
    "rewrite",
    "rewrite_consistently",
    "set_column",
    "swap",
]
