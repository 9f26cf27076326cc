"""Event store: append-only hash-chained streams on SQLite or PostgreSQL, plus read models."""

from store.base import AppendResult, EventStore, StreamHead
from store.errors import (
    ConflictingEvent,
    InvalidEvent,
    PrevHashMismatch,
    SeqConflict,
    StoreError,
)
from store.factory import open_store
from store.projection import BoardRow

__all__ = [
    "AppendResult",
    "BoardRow",
    "ConflictingEvent",
    "EventStore",
    "InvalidEvent",
    "PrevHashMismatch",
    "SeqConflict",
    "StoreError",
    "StreamHead",
    "open_store",
]
