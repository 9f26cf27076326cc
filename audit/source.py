"""Where the audit tools read stored events from: one subject's stream or the whole store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from store.base import EventStore

__all__ = ["raw_streams"]


def raw_streams(
    store: EventStore, subject: str | None = None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Raw stored envelopes (not upcast, exactly as hashed), one stream at a time.

    The whole store is paged by ``read_all_raw``, so memory stays bounded by the largest stream.
    """
    if subject is not None:
        rows = store.read_raw(subject)
        if rows:
            yield subject, rows
        return
    yield from store.read_all_raw()
