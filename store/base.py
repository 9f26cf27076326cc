"""The event store interface the activities, read side and audit tools program against."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from domain.events import Event
from store.projection import BoardRow
from store.refusals import Refusal

__all__ = ["AppendResult", "BoardRow", "EventStore", "StreamHead"]


class StreamHead(NamedTuple):
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one ``append`` did.

    ``duplicates`` counts events already stored with the identical hash (a retried append);
    ``heads`` is each touched stream's head after the commit.
    """

    written: int
    duplicates: int
    heads: Mapping[str, StreamHead] = field(default_factory=dict)


@runtime_checkable
class EventStore(Protocol):
    """Append-only, hash-chained event streams plus the read models kept in step with them.

    Methods are synchronous and thread-safe (each call uses its own connection); async code calls
    them through ``asyncio.to_thread``.
    """

    def append(self, events: Sequence[Event]) -> AppendResult:
        """Append sealed events atomically, together with the read-model updates.

        Per stream the batch must continue the stored head: gapless seq and ``prev_hash`` equal
        to the head's hash. Events already stored with the same hash are accepted silently.
        Raises ``SeqConflict``, ``ConflictingEvent`` (``PrevHashMismatch``) or ``InvalidEvent``.
        """
        ...

    def read_stream(self, stream: str, after_seq: int = 0) -> list[Event]: ...

    def read_raw(self, stream: str) -> list[dict[str, Any]]:
        """The stored envelopes as parsed JSON, not upcast: the input ``verify_chain`` needs."""
        ...

    def read_text(self, stream: str) -> list[str]:
        """The stored envelopes byte for byte, in seq order."""
        ...

    def read_all_raw(self, batch_size: int = 1000) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Every stream with its raw envelopes, one stream at a time, in stream order.

        Fetches ``batch_size`` rows per query, so memory stays bounded by the largest stream.
        """
        ...

    def streams(self) -> list[str]: ...

    def command_events(self, command_id: str) -> list[Event]:
        """The events a command recorded (their envelopes name its id), in commit order."""
        ...

    def record_refusal(self, refusal: Refusal) -> None:
        """Keeps why a command was refused (not an event: nothing happened)."""
        ...

    def refusal(self, command_id: str) -> Refusal | None: ...

    def head(self, stream: str) -> StreamHead | None: ...

    def count_events(self) -> int: ...

    def board(
        self,
        phase: str | None = None,
        disease: str | None = None,
        dose_level: str | None = None,
    ) -> list[BoardRow]:
        """Subject board rows matching all given filters, ordered by subject id."""
        ...

    def board_row(self, subject_id: str) -> BoardRow | None: ...

    def rebuild_board(self) -> int:
        """Recompute every board row from the events; returns the number of rows."""
        ...

    def close(self) -> None: ...
