"""Appending and reading back: exact bytes, intact chain, every read API."""

from __future__ import annotations

import pytest

from domain.canonical import JCS_SCHEME, LEGACY_SCHEME, canonical_text
from domain.events import verify_chain
from store.base import StreamHead
from store.sql import SqlEventStore
from tests.store.builders import Chain, consent, registered, to_infusion


@pytest.mark.parametrize("scheme", [LEGACY_SCHEME, JCS_SCHEME])
def test_round_trip_is_byte_identical_and_the_chain_verifies(
    store: SqlEventStore, scheme: str | None
) -> None:
    chain = Chain("S-001", hash_scheme=scheme)
    batch = chain.next(*to_infusion("S-001"))

    result = store.append(batch)

    assert result.written == len(batch)
    assert result.duplicates == 0
    assert store.read_text("S-001") == [e.envelope_text() for e in batch]
    raw = store.read_raw("S-001")
    assert [canonical_text(r, scheme) for r in raw] == store.read_text("S-001")
    assert all(r.get("hash_scheme") == scheme for r in raw)
    assert verify_chain("S-001", raw) is None
    assert store.read_stream("S-001") == batch


@pytest.mark.parametrize(
    ("scheme", "total_tu"),
    # RFC 8785 writes integral numbers without a fraction (ECMAScript Number.toString).
    [(LEGACY_SCHEME, '"total_tu":123000000.0'), (JCS_SCHEME, '"total_tu":123000000,')],
)
def test_floats_survive_storage_exactly(
    store: SqlEventStore, scheme: str | None, total_tu: str
) -> None:
    # The infusion carries 1.23e8 and 61.5; JSONB-style normalisation would break the hash.
    batch = Chain("S-001", hash_scheme=scheme).next(*to_infusion("S-001"))
    store.append(batch)

    stored = store.read_text("S-001")[-1]

    assert total_tu in stored and '"weight_kg":61.5' in stored
    assert verify_chain("S-001", store.read_raw("S-001")) is None


def test_read_stream_after_seq_returns_only_later_events(store: SqlEventStore) -> None:
    chain = Chain("S-001")
    store.append(chain.next(registered("S-001")))
    later = chain.next(consent())
    store.append(later)

    assert store.read_stream("S-001", after_seq=1) == later
    assert store.read_stream("S-001", after_seq=2) == []
    assert store.read_stream("unknown") == []


def test_head_streams_and_count_reflect_committed_events(store: SqlEventStore) -> None:
    assert store.head("S-001") is None
    assert store.streams() == []
    assert store.count_events() == 0

    a, b = Chain("S-002"), Chain("S-001")
    batch_a = a.next(registered("S-002"), consent())
    store.append(batch_a)
    store.append(b.next(registered("S-001")))

    assert store.head("S-002") == StreamHead(2, batch_a[-1].hash)
    assert store.streams() == ["S-001", "S-002"]
    assert store.count_events() == 3


def test_one_batch_may_span_several_streams_atomically(store: SqlEventStore) -> None:
    a, b = Chain("S-001"), Chain("S-002")
    batch = a.next(registered("S-001")) + b.next(registered("S-002"), consent())

    result = store.append(batch)

    assert result.written == 3
    assert result.heads == {"S-001": StreamHead(1, batch[0].hash), "S-002": (2, batch[-1].hash)}


def test_empty_append_changes_nothing(store: SqlEventStore) -> None:
    result = store.append([])

    assert (result.written, result.duplicates, dict(result.heads)) == (0, 0, {})
    assert store.count_events() == 0


def test_read_all_raw_yields_each_stream_whole_across_page_boundaries(
    store: SqlEventStore,
) -> None:
    expected: dict[str, list[str]] = {}
    for n, length in ((3, 4), (1, 1), (2, 5)):
        stream = f"S-{n:03d}"
        chain = Chain(stream)
        store.append(chain.next(*to_infusion(stream)[:length]))
        expected[stream] = store.read_text(stream)

    # Page size 3 splits streams of 4 and 5 events over several queries.
    seen = list(store.read_all_raw(batch_size=3))

    assert [stream for stream, _ in seen] == ["S-001", "S-002", "S-003"]
    for stream, rows in seen:
        assert [canonical_text(r, r.get("hash_scheme")) for r in rows] == expected[stream]
        assert verify_chain(stream, rows) is None


def test_read_all_raw_of_an_empty_store_yields_nothing(store: SqlEventStore) -> None:
    assert list(store.read_all_raw()) == []
