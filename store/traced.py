"""An event store whose appends appear as spans in the command's trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from domain.events import Event
from store.base import AppendResult, EventStore

__all__ = ["traced"]


class _TracedStore:
    def __init__(self, inner: EventStore) -> None:
        self._inner = inner
        self._tracer = trace.get_tracer("jy231.store")

    def append(self, events: Sequence[Event]) -> AppendResult:
        with self._tracer.start_as_current_span("store.append", kind=SpanKind.CLIENT) as span:
            if events:
                span.set_attribute("jy231.stream", events[0].stream)
                span.set_attribute("jy231.first_seq", events[0].seq)
            span.set_attribute("jy231.events", len(events))
            return self._inner.append(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def traced(store: EventStore) -> EventStore:
    """``store`` with a span around each append; every other call goes straight through."""
    return cast(EventStore, _TracedStore(store))
