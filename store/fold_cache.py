"""Folded subject states this process already holds, so an append need not read them back.

An entry is valid only for the exact stream head it was folded up to: the head's hash covers
every earlier event (each hash covers its ``prev_hash``), so a state folded to (seq, hash) is the
fold of exactly the stored stream whenever the locked head still shows (seq, hash). Anything
else (another process appended, the entry was evicted) is a miss, and the appender folds from
the stored snapshot (subject_snapshots) or from the events. Entries are replaced only after a
commit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.state import SubjectState

__all__ = ["DEFAULT_CAPACITY", "FoldCache", "Folded"]

# A subject of ~80 events folds to ~100 KB of Python objects: 1,024 subjects stay near 100 MB.
DEFAULT_CAPACITY = 1024


@dataclass(frozen=True, slots=True)
class Folded:
    """A stream's fold up to its head ``(seq, hash)``; ``state`` None for a non-subject stream.

    ``state_seq`` is the seq of the stored snapshot of the state (0: none), so the appender knows
    when to store it again without reading the row; ``board`` the row's columns as this process
    last wrote them (None: not known), so it can write only what changed.
    """

    seq: int
    hash: str
    state: SubjectState | None
    state_seq: int
    board: Mapping[str, Any] | None = None


class FoldCache:
    """A thread-safe LRU map from stream to its ``Folded`` entry."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self._capacity = capacity
        self._entries: OrderedDict[str, Folded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream: str, seq: int, digest: str) -> Folded | None:
        """The entry for ``stream`` if it was folded up to exactly this head, else None."""
        with self._lock:
            entry = self._entries.get(stream)
            if entry is None or entry.seq != seq or entry.hash != digest:
                return None
            self._entries.move_to_end(stream)
            return entry

    def put(self, stream: str, entry: Folded) -> None:
        if self._capacity == 0:
            return
        with self._lock:
            self._entries[stream] = entry
            self._entries.move_to_end(stream)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
