"""What the subject page shows about safety: AEs with SAE clock and DLT flags, monitoring days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.events import Event, MonitoringRecorded
from domain.protocol import Protocol
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness
from domain.state import AdverseEvent, SubjectState
from domain.subject import sae_due

__all__ = ["AeRow", "MonitoringDay", "SaeStatus", "ae_rows", "monitoring_days"]

SaeStatus = Literal["not_serious", "due", "overdue", "reported", "reported_late"]
DayStatus = Literal["recorded", "missed", "today", "due", "upcoming"]


class AeRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    ae_id: str
    kind: AeKind
    term: str
    # The worst grade the AE reached (what DLTs and reports use), and its grade now.
    grade: int
    current_grade: int
    grade_history: tuple[int, ...]
    # Each grade with the clinical day it was recorded, oldest first.
    grade_changes: tuple[tuple[int, date], ...]
    # (label, value) of the observed CRS/ICANS components the grade was computed from.
    components: tuple[tuple[str, str], ...]
    onset_on: date
    seriousness: tuple[Seriousness, ...]
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    haematologic: bool
    outcome: AeOutcome
    resolved_on: date | None
    sae_status: SaeStatus
    sae_due_at: datetime | None
    sae_reported_at: datetime | None
    dlt_rule: str | None


class MonitoringDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: int
    on: date
    status: DayStatus
    max_temperature_c: float | None = None
    ice_score: int | None = None


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "not assessed"
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    return str(value)


def _components(ae: AdverseEvent) -> tuple[tuple[str, str], ...]:
    observed = ae.crs or ae.icans
    if observed is None:
        return ()
    pairs = []
    for name, value in observed:
        label = name.replace("_", " ")
        text = f"{value} °C" if name == "max_temperature_c" else _shown(value)
        pairs.append((label, text))
    return tuple(pairs)


def _sae(ae: AdverseEvent, protocol: Protocol, today: date) -> tuple[SaeStatus, datetime | None]:
    if not ae.serious or ae.serious_since is None:
        return "not_serious", None
    due = sae_due(ae, protocol)
    if ae.sae_reported_at is not None:
        return ("reported_late" if ae.sae_reported_at > due else "reported"), due
    if ae.sae_overdue or due.date() < today:
        return "overdue", due
    return "due", due


def ae_rows(state: SubjectState, protocol: Protocol, today: date) -> list[AeRow]:
    """Most recent onset first: the newest AE is the one staff act on."""
    rows = []
    for ae in state.adverse_events:
        status, due = _sae(ae, protocol, today)
        rows.append(
            AeRow(
                ae_id=ae.ae_id,
                kind=ae.kind,
                term=ae.term,
                grade=ae.worst,
                current_grade=ae.grade,
                grade_history=tuple(h.grade for h in ae.grade_history),
                grade_changes=tuple((h.grade, h.on) for h in ae.grade_history),
                components=_components(ae),
                onset_on=ae.onset_on,
                seriousness=ae.seriousness,
                related_to_jy231=ae.related_to_jy231,
                related_to_lymphodepletion=ae.related_to_lymphodepletion,
                haematologic=ae.haematologic,
                outcome=ae.outcome,
                resolved_on=ae.resolved_on,
                sae_status=status,
                sae_due_at=due,
                sae_reported_at=ae.sae_reported_at,
                dlt_rule=ae.dlt_rule,
            )
        )
    return sorted(rows, key=lambda r: (r.onset_on, r.ae_id), reverse=True)


def monitoring_days(
    events: Sequence[Event], state: SubjectState, protocol: Protocol, today: date
) -> list[MonitoringDay]:
    """Days 1..N after infusion with what was recorded; empty before infusion."""
    if state.infusion_date is None:
        return []
    # The state keeps only which days are done; the readings are in the events.
    readings = {
        e.payload.day: e.payload for e in events if isinstance(e.payload, MonitoringRecorded)
    }
    days = []
    for day in range(1, protocol.safety.daily_monitoring_days + 1):
        on = state.infusion_date + timedelta(days=day)
        reading = readings.get(day)
        status: DayStatus
        if day in state.monitoring_recorded:
            status = "recorded"
        elif day in state.monitoring_missed:
            status = "missed"
        elif on == today:
            status = "today"
        elif on < today:
            status = "due"
        else:
            status = "upcoming"
        days.append(
            MonitoringDay(
                day=day,
                on=on,
                status=status,
                max_temperature_c=reading.max_temperature_c if reading else None,
                ice_score=reading.ice_score if reading else None,
            )
        )
    return days
