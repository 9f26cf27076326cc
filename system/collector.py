"""The garbage collector's thresholds for the long-running processes (worker, web).

CPython's default (700, 10, 10) runs a young collection every 700 container allocations and
every 100th of those a full one over everything alive. The worker keeps many long-lived objects
(folded subject states in the store's fold cache, cached workflow runs), and each append or
workflow task allocates thousands of short-lived ones (dumps, pydantic models, JSON), so with
the defaults the collector took a third of the event store's append time (bench/store_append.py,
measured with and without). A larger first threshold collects the same garbage in fewer, larger
passes; reference counting still frees most objects at once, and cycles are still collected.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "tune_collector"]

THRESHOLDS = (20_000, 20, 20)


def tune_collector() -> None:
    """Set the process's collector thresholds (idempotent); call once at process start."""
    gc.set_threshold(*THRESHOLDS)
