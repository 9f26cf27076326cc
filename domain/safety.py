"""Adverse-event vocabulary (CTCAE v5, ICH E2A seriousness); DLT rules are in ``domain.dlt``."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AeKind",
    "AeOutcome",
    "Relatedness",
    "Seriousness",
]

AeKind = Literal["general", "CRS", "ICANS"]
# WHO-UMC style causality categories.
Relatedness = Literal["unrelated", "unlikely", "possible", "probable", "definite"]
# ICH E2A: any one of these makes an AE serious and starts the expedited-report clock.
Seriousness = Literal[
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
]
AeOutcome = Literal[
    "not_recovered", "recovering", "recovered", "recovered_with_sequelae", "fatal", "unknown"
]
