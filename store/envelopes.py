"""An event's stored text, and the check that its hash covers exactly that content.

The store recomputes every hash before it writes (a caller cannot store an event whose hash does
not match), and stores the canonical JSON the hash was computed over. Both come from one dump of
the event: the hashed text is the envelope without its ``"hash":"…"`` member, because a canonical
object is its sorted members joined by commas (the same under both schemes) and ``hash`` is never
the last key (``hash_scheme``, ``stream`` and ``type`` sort after it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.canonical import canonical_text, sha256_hex
from domain.events import Event, compute_hash
from store.errors import InvalidEvent

__all__ = ["StreamBatch", "checked_envelope", "group_batch"]

_DIGEST = re.compile(r"[0-9a-f]{64}")


def checked_envelope(event: Event) -> str:
    """The canonical text stored for ``event``; ``InvalidEvent`` if its hash does not match."""
    envelope = canonical_text(event.model_dump(mode="json"), event.hash_scheme)
    member = f'"hash":"{event.hash}",'
    # A hex digest needs no escaping, and a string value cannot hold an unescaped quote, so the
    # member occurs once, at the top level; anything else takes the reference computation.
    if _DIGEST.fullmatch(event.hash) and envelope.count(member) == 1:
        actual = sha256_hex(envelope.replace(member, "", 1))
    else:
        actual = compute_hash(event.hash_input())
    if actual != event.hash:
        raise InvalidEvent(
            f"stream {event.stream!r} seq {event.seq}: hash {event.hash} does not match "
            f"the event's content (recomputed {actual})"
        )
    return envelope


@dataclass(slots=True)
class StreamBatch:
    """One stream's part of a batch, in seq order, with each event's stored text."""

    stream: str
    events: list[Event] = field(default_factory=list)
    envelopes: list[str] = field(default_factory=list)


def group_batch(batch: Sequence[Event]) -> dict[str, StreamBatch]:
    """Split a batch by stream, refusing anything that is wrong without looking at the store."""
    groups: dict[str, StreamBatch] = {}
    for event in batch:
        envelope = checked_envelope(event)
        group = groups.get(event.stream)
        if group is None:
            group = groups[event.stream] = StreamBatch(event.stream)
        elif event.seq != group.events[-1].seq + 1 or event.prev_hash != group.events[-1].hash:
            raise InvalidEvent(
                f"stream {event.stream!r}: seq {event.seq} does not directly follow "
                f"seq {group.events[-1].seq} in the batch"
            )
        group.events.append(event)
        group.envelopes.append(envelope)
    return groups
