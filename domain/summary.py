"""A subject in a few fields: what a command's caller needs back, without the whole state.

An update result is written into the workflow history, so returning the whole ``SubjectState``
(which grows with every adverse event, visit and correction) made each command's history entry
grow with the subject and the history with the square of its commands. The summary stays the
same size whatever the subject has been through; the full state is one query away.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.state import SubjectState
from domain.values import Disease, Phase

__all__ = ["SubjectSummary"]


class SubjectSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    phase: Phase
    protocol_version: str = ""
    disease: Disease | None = None
    dose_level: str | None = None
    infusion_date: date | None = None
    open_deviations: int = 0
    adverse_events: int = 0
    last_seq: int = 0
    last_hash: str = ""

    @classmethod
    def of(cls, state: SubjectState) -> SubjectSummary:
        return cls(
            subject_id=state.subject_id,
            phase=state.phase,
            protocol_version=state.protocol_version,
            disease=state.disease,
            dose_level=state.dose_level,
            infusion_date=state.infusion_date,
            open_deviations=len(state.open_deviations),
            adverse_events=len(state.adverse_events),
            last_seq=state.last_seq,
            last_hash=state.last_hash,
        )
