"""Safety commands: adverse events, SAE and SUSAR reporting, acute monitoring, the DLT window
and the study's slot; ``domain/commands.py`` puts them in the ``Command`` union."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from domain.grading import CrsComponents, IcansComponents
from domain.inputs import InputModel
from domain.safety import AeKind, AeOutcome, Relatedness, Seriousness

__all__ = [
    "AeId",
    "CloseDltWindow",
    "GrantStudySlot",
    "MarkMonitoringMissed",
    "MarkSaeOverdue",
    "MarkSusarOverdue",
    "RecordAdverseEvent",
    "RecordDailyMonitoring",
    "ReportSae",
    "ReportSusar",
    "ResolveAdverseEvent",
    "UpdateAdverseEvent",
]


class _Command(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).

    # Clinical time: when it happened at the site, as stated by staff.
    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


AeId = Annotated[str, Field(min_length=1, max_length=48)]


def _check_grade_source(
    kind: AeKind | None,
    grade: int | None,
    crs: CrsComponents | None,
    icans: IcansComponents | None,
    *,
    required: bool,
) -> None:
    """CRS and ICANS grades come from their components; other AEs carry a CTCAE grade."""
    if kind == "CRS" and (crs is None or icans is not None or grade is not None):
        raise ValueError("a CRS event carries crs components only; its grade is computed")
    if kind == "ICANS" and (icans is None or crs is not None or grade is not None):
        raise ValueError("an ICANS event carries icans components only; its grade is computed")
    if kind == "general" and (crs is not None or icans is not None):
        raise ValueError("crs/icans components belong to kind CRS or ICANS")
    if kind == "general" and required and grade is None:
        raise ValueError("a general adverse event needs a CTCAE v5 grade (1-5)")


class RecordAdverseEvent(_Command):
    """An AE as the site became aware of it; ``occurred_at`` is the time of awareness."""

    type: Literal["record_adverse_event"] = "record_adverse_event"
    kind: AeKind = "general"
    # CTCAE term; CRS and ICANS default to their own names.
    term: str | None = Field(default=None, min_length=1, max_length=200)
    grade: int | None = Field(default=None, ge=1, le=5)
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    onset_on: date
    seriousness: tuple[Seriousness, ...] = ()
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    haematologic: bool = False
    outcome: AeOutcome = "not_recovered"

    @model_validator(mode="after")
    def _grade_has_one_source(self) -> RecordAdverseEvent:
        _check_grade_source(self.kind, self.grade, self.crs, self.icans, required=True)
        if self.kind == "general" and self.term is None:
            raise ValueError("a general adverse event needs its CTCAE term")
        return self


class UpdateAdverseEvent(_Command):
    """A change in severity, seriousness, attribution or outcome; omitted fields stay."""

    type: Literal["update_adverse_event"] = "update_adverse_event"
    ae_id: AeId
    grade: int | None = Field(default=None, ge=1, le=5)
    crs: CrsComponents | None = None
    icans: IcansComponents | None = None
    seriousness: tuple[Seriousness, ...] | None = None
    related_to_jy231: Relatedness | None = None
    related_to_lymphodepletion: Relatedness | None = None
    outcome: AeOutcome | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateAdverseEvent:
        if all(
            v is None
            for v in (
                self.grade,
                self.crs,
                self.icans,
                self.seriousness,
                self.related_to_jy231,
                self.related_to_lymphodepletion,
                self.outcome,
            )
        ):
            raise ValueError("an update must change at least one field")
        if sum(v is not None for v in (self.grade, self.crs, self.icans)) > 1:
            raise ValueError("give a grade, crs or icans components, not several")
        return self


class ResolveAdverseEvent(_Command):
    type: Literal["resolve_adverse_event"] = "resolve_adverse_event"
    ae_id: AeId
    resolved_on: date
    outcome: Literal["recovered", "recovered_with_sequelae"] = "recovered"


class ReportSae(_Command):
    """The expedited report of a serious AE has been sent (to sponsor, IRB and regulator)."""

    type: Literal["report_sae"] = "report_sae"
    ae_id: AeId
    reported_at: AwareDatetime
    recipient: str = Field(min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=100)


class MarkSaeOverdue(_Command):
    """Raised by the SAE-report timer when the report is not in within the protocol's hours."""

    type: Literal["mark_sae_overdue"] = "mark_sae_overdue"
    ae_id: AeId


class ReportSusar(_Command):
    """An expedited SUSAR report (initial or follow-up) sent to one recipient."""

    type: Literal["report_susar"] = "report_susar"
    ae_id: AeId
    recipient: str = Field(min_length=2, max_length=32)
    kind: Literal["initial", "follow_up"]
    reported_at: AwareDatetime
    reference: str = Field(min_length=1, max_length=100)


class MarkSusarOverdue(_Command):
    """Raised by a SUSAR clock when a recipient's report is not in by its day."""

    type: Literal["mark_susar_overdue"] = "mark_susar_overdue"
    ae_id: AeId
    recipient: str = Field(min_length=2, max_length=32)
    kind: Literal["initial", "follow_up"]


class RecordDailyMonitoring(_Command):
    type: Literal["record_daily_monitoring"] = "record_daily_monitoring"
    day: int = Field(ge=1, le=60)
    max_temperature_c: float = Field(ge=30.0, le=45.0)
    ice_score: int | None = Field(default=None, ge=0, le=10)
    notes: str | None = Field(default=None, max_length=2000)


class MarkMonitoringMissed(_Command):
    """Raised by the monitoring timer when a day after infusion ends with no record."""

    type: Literal["mark_monitoring_missed"] = "mark_monitoring_missed"
    day: int = Field(ge=1, le=60)


class CloseDltWindow(_Command):
    """Raised when the DLT window ends, or at once when participation ends inside it."""

    type: Literal["close_dlt_window"] = "close_dlt_window"


class GrantStudySlot(_Command):
    """Raised when the study workflow grants this subject a slot in its dose-level cohort."""

    type: Literal["grant_study_slot"] = "grant_study_slot"
    study_id: str = Field(min_length=1, max_length=64)
    dose_level: str = Field(pattern=r"^DL[0-9]+$")
    sentinel: bool
