"""Safety tallies of a run, from the replayed states: AEs, SAE reporting, monitoring, DLTs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from domain.state import AdverseEvent, SubjectState

__all__ = ["SafetyFigures", "safety_figures"]


class SafetyFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    subjects_infused: int
    subjects_with_crs: int
    subjects_with_icans: int
    # CRS and ICANS by their computed ASTCT grade, other AEs by CTCAE term and grade.
    adverse_events: dict[str, dict[str, int]]
    serious: int
    sae_reported_on_time: int
    sae_reported_late: int
    sae_marked_overdue: int
    sae_unreported: int
    monitoring_recorded: int
    monitoring_missed: int
    dlt_outcomes: dict[str, int]
    dlts_flagged: int


def _label(ae: AdverseEvent) -> str:
    return ae.term if ae.kind == "general" else ae.kind


def _late(ae: AdverseEvent, hours: int) -> bool:
    assert ae.serious_since is not None and ae.sae_reported_at is not None
    return ae.sae_overdue or ae.sae_reported_at > ae.serious_since + timedelta(hours=hours)


def safety_figures(states: Sequence[SubjectState], sae_report_hours: int) -> SafetyFigures:
    aes = [ae for s in states for ae in s.adverse_events]
    by_label: dict[str, Counter[str]] = {}
    for ae in aes:
        # Tabulated at the worst grade each AE reached.
        by_label.setdefault(_label(ae), Counter())[str(ae.worst)] += 1
    serious = [ae for ae in aes if ae.serious]
    reported = [ae for ae in serious if ae.sae_reported_at is not None]
    late = sum(_late(ae, sae_report_hours) for ae in reported)
    return SafetyFigures(
        subjects_infused=sum(s.infusion_date is not None for s in states),
        subjects_with_crs=sum(any(a.kind == "CRS" for a in s.adverse_events) for s in states),
        subjects_with_icans=sum(any(a.kind == "ICANS" for a in s.adverse_events) for s in states),
        adverse_events={
            label: dict(sorted(by_label[label].items()))
            for label in sorted(by_label, key=lambda k: (k not in ("CRS", "ICANS"), k))
        },
        serious=len(serious),
        sae_reported_on_time=len(reported) - late,
        sae_reported_late=late,
        sae_marked_overdue=sum(ae.sae_overdue for ae in serious),
        sae_unreported=len(serious) - len(reported),
        monitoring_recorded=sum(len(s.monitoring_recorded) for s in states),
        monitoring_missed=sum(len(s.monitoring_missed) for s in states),
        dlt_outcomes=dict(sorted(Counter(s.dlt_outcome for s in states if s.dlt_outcome).items())),
        dlts_flagged=sum(a.dlt_rule is not None for a in aes),
    )
