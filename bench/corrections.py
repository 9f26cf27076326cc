"""The command the REST and worker benchmarks send over and over: a correction of one field.

A correction is accepted at any phase and records one event, so every round trip does the same
work however many came before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import commands as c

__all__ = ["correction"]


def correction(value: str) -> c.RecordCorrection:
    """A correction of the registration's ``sex`` to ``value``, dated just before now."""
    return c.RecordCorrection(
        occurred_at=datetime.now(UTC) - timedelta(seconds=5),
        target_seq=1,
        field="sex",
        new_value=value,
        reason="benchmark: source document check",
    )
