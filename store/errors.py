"""Errors raised by the event store.

Each carries the facts a caller needs to decide what to do (re-read the head and decide again, or
give up), and each pickles by its constructor arguments so it survives process boundaries.
"""

from __future__ import annotations

__all__ = [
    "ConflictingEvent",
    "InvalidEvent",
    "PrevHashMismatch",
    "SeqConflict",
    "StoreError",
]


class StoreError(Exception):
    """Base class of everything the event store raises on purpose."""


class InvalidEvent(StoreError):
    """The offered batch is malformed on its own: bad hash, gap or broken link inside the batch."""


class SeqConflict(StoreError):
    """The batch does not start right after the stream's head.

    Retryable after re-reading the head: the caller decided against a stale view of the stream.
    """

    def __init__(self, stream: str, expected_seq: int, offered_seq: int) -> None:
        self.stream = stream
        self.expected_seq = expected_seq
        self.offered_seq = offered_seq
        super().__init__(
            f"stream {stream!r}: next seq is {expected_seq}, but the batch starts at {offered_seq}"
        )

    def __reduce__(self) -> tuple[type[SeqConflict], tuple[str, int, int]]:
        return (type(self), (self.stream, self.expected_seq, self.offered_seq))


class ConflictingEvent(StoreError):
    """A different event already holds this (stream, seq).

    Not retryable: the same batch can never succeed, because history is never overwritten.
    """

    def __init__(self, stream: str, seq: int, stored_hash: str, offered_hash: str) -> None:
        self.stream = stream
        self.seq = seq
        self.stored_hash = stored_hash
        self.offered_hash = offered_hash
        super().__init__(self._describe())

    def _describe(self) -> str:
        return (
            f"stream {self.stream!r} seq {self.seq}: stored event has hash {self.stored_hash}, "
            f"offered event has hash {self.offered_hash}"
        )

    def __reduce__(self) -> tuple[type[ConflictingEvent], tuple[str, int, str, str]]:
        return (type(self), (self.stream, self.seq, self.stored_hash, self.offered_hash))


class PrevHashMismatch(ConflictingEvent):
    """The first new event does not link to the stored head: the caller's history forked.

    ``stored_hash`` is the head's hash, ``offered_hash`` the event's ``prev_hash``.
    """

    def _describe(self) -> str:
        return (
            f"stream {self.stream!r} seq {self.seq}: prev_hash {self.offered_hash} does not "
            f"match the stored head hash {self.stored_hash}"
        )
