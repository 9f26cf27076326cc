"""What one synthetic subject will go through: dated commands and the phase they must end in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain.actors import Actor
from domain.commands import Command
from domain.values import Disease, Phase

__all__ = ["Action", "Scenario", "SubjectPlan", "WithdrawalPhase"]

Scenario = Literal[
    "completes",
    "manufacturing_failure",
    "screen_failure",
    "screening_expires",
    "withdraws",
]
WithdrawalPhase = Literal[
    "consented",
    "screening",
    "eligible",
    "enrolled",
    "apheresis",
    "awaiting_product",
    "lymphodepletion",
    "infused",
    "follow_up",
]


@dataclass(frozen=True, slots=True)
class Action:
    """One command a member of staff sends at a moment of protocol time."""

    at: datetime
    subject_id: str
    actor: Actor
    command: Command


@dataclass(frozen=True, slots=True)
class SubjectPlan:
    subject_id: str
    disease: Disease
    scenario: Scenario
    actions: tuple[Action, ...]
    expected_phase: Phase
    # By then every timer the workflow owns (window closes, expiry, completion) has fired.
    settles_by: datetime
    dose_level: str | None = None
    route: str | None = None
    failure: str | None = None
    withdrawal_phase: WithdrawalPhase | None = None
    # Visits deliberately never sent, so the workflow's own window timer must record them.
    skipped_visits: tuple[str, ...] = ()
    # Monitoring days deliberately left unrecorded, so the workflow must mark them missed.
    missed_monitoring_days: tuple[int, ...] = ()
    # SAEs reported after their 24 h clock ran out, so the workflow must mark them overdue.
    overdue_saes: tuple[str, ...] = ()
