"""What the subject page shows about expedited (SUSAR) reporting: per SUSAR, each recipient's
initial and follow-up report with its due time, and whether it was sent, late or is overdue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.expedited import Category, ReportKind, required_reports
from domain.protocol import Protocol
from domain.state import SubjectState

__all__ = ["SusarReportRow", "SusarRow", "susar_rows"]

ReportStatus = Literal["due", "overdue", "sent", "sent_late"]


class SusarReportRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipient: str
    recipient_name: str
    kind: ReportKind
    due_at: datetime
    status: ReportStatus
    reported_at: datetime | None
    reference: str | None


class SusarRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    ae_id: str
    term: str
    category: Category
    since: datetime
    reports: tuple[SusarReportRow, ...]

    @property
    def overdue(self) -> bool:
        return any(r.status == "overdue" for r in self.reports)


def susar_rows(state: SubjectState, protocol: Protocol, today: date) -> list[SusarRow]:
    """Every AE that is a SUSAR, with the reports its category owes each recipient."""
    rules = protocol.expedited
    if rules is None:
        return []
    rows = []
    for ae in state.adverse_events:
        susar = ae.susar
        if susar is None:
            continue
        reports = []
        for code, kind, due in required_reports(rules, susar.category, susar.since):
            sent = next((r for r in susar.reports if (r.recipient, r.kind) == (code, kind)), None)
            status: ReportStatus
            if sent is not None:
                status = "sent_late" if sent.late else "sent"
            elif (code, kind) in susar.overdue or due.date() < today:
                status = "overdue"
            else:
                status = "due"
            recipient = rules.recipient(code)
            reports.append(
                SusarReportRow(
                    recipient=code,
                    recipient_name=recipient.name if recipient else code,
                    kind=kind,
                    due_at=due,
                    status=status,
                    reported_at=sent.reported_at if sent else None,
                    reference=sent.reference if sent else None,
                )
            )
        rows.append(
            SusarRow(
                ae_id=ae.ae_id,
                term=ae.term,
                category=susar.category,
                since=susar.since,
                reports=tuple(reports),
            )
        )
    return rows
