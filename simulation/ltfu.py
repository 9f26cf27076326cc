"""Long-term follow-up for simulated subjects: LTFU consent after Month 12, the annual years.

``trial simulate --years N`` runs the subjects who complete the main study on into LTFU under a
protocol that has it (the v2.0 amendment): each signs the LTFU consent the day after Month 12
is resolved and keeps every annual timepoint up to year N, except a few that are let pass so
the workflow's own timer records them missed. With N = 15 they complete; with fewer years they
are still in LTFU when the run ends.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from domain import commands as c
from domain.ltfu import ltfu_schedule
from domain.protocol import Protocol
from domain.values import Phase
from simulation.plan import Action, SubjectPlan
from simulation.site import SITE_ZONE
from simulation.staff import COORDINATOR

__all__ = ["MISSED_YEAR", "with_ltfu"]

# Chance that a subject misses an LTFU year (no visit or contact in its window).
MISSED_YEAR = 0.05
_CLINIC = time(9, 0, tzinfo=SITE_ZONE)


def _at(day: date) -> datetime:
    return datetime.combine(day, _CLINIC)


def _follow(plan: SubjectPlan, protocol: Protocol, years: int, rng: random.Random) -> SubjectPlan:
    assert protocol.ltfu is not None
    infusion = next(
        (a.command.infused_on for a in plan.actions if isinstance(a.command, c.RecordInfusion)),
        None,
    )
    if infusion is None:
        return plan
    last = protocol.visits[-1]
    done = any(
        isinstance(a.command, c.CompleteVisit) and a.command.code == last.code for a in plan.actions
    )
    closes = infusion + timedelta(days=last.target_day + last.window_after_days)
    resolved = (
        next(
            a.command.completed_on
            for a in plan.actions
            if isinstance(a.command, c.CompleteVisit) and a.command.code == last.code
        )
        if done
        else closes + timedelta(days=1)
    )
    decided_on = max(resolved, max(a.at for a in plan.actions).astimezone(SITE_ZONE).date())
    decided_on += timedelta(days=1)
    actions: list[Action] = [
        Action(
            at=_at(decided_on),
            subject_id=plan.subject_id,
            actor=COORDINATOR,
            command=c.RecordLtfuConsent(
                occurred_at=_at(decided_on),
                decision="signed",
                decided_on=decided_on,
                consent_version=protocol.ltfu.consent_version,
            ),
        )
    ]
    schedule = ltfu_schedule(
        infusion, decided_on, frozenset({last.code}) if done else frozenset(), protocol
    )
    # By protocol day, not calendar target: a holiday may move a year's target a day or two.
    days = {t.code: t.target_day for t in protocol.ltfu.timepoints}
    within = [v for v in schedule if days[v.code] <= 365 * years]
    skipped: list[str] = []
    for visit in within:
        point = protocol.ltfu.timepoint(visit.code)
        assert point is not None
        if rng.random() < MISSED_YEAR:
            skipped.append(visit.code)
            continue
        actions.append(
            Action(
                at=_at(visit.target),
                subject_id=plan.subject_id,
                actor=COORDINATOR,
                command=c.CompleteLtfuVisit(
                    occurred_at=_at(visit.target),
                    code=visit.code,
                    completed_on=visit.target,
                    mode="visit" if point.kind == "visit" else rng.choice(point.modes),
                    samples=point.samples,
                ),
            )
        )
    finished = len(within) == len(schedule)
    end = max(v.window_end for v in within) if within else decided_on
    return replace(
        plan,
        actions=(*plan.actions, *actions),
        expected_phase=Phase.COMPLETED if finished else Phase.LTFU,
        settles_by=max(plan.settles_by, _at(end + timedelta(days=2))),
        skipped_visits=(*plan.skipped_visits, *skipped),
    )


def with_ltfu(
    plans: Sequence[SubjectPlan], protocol: Protocol, years: int, seed: int
) -> list[SubjectPlan]:
    """The completers' plans carried on into ``years`` years of LTFU; others unchanged."""
    if protocol.ltfu is None:
        raise ValueError(f"protocol version {protocol.version} has no long-term follow-up")
    out: list[SubjectPlan] = []
    for plan in plans:
        if plan.expected_phase is Phase.COMPLETED:
            plan = _follow(plan, protocol, years, random.Random(f"ltfu:{seed}:{plan.subject_id}"))
        out.append(plan)
    return out
