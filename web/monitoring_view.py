"""What the monitors' pages and API show: query lists, SDV status and the per-site report.

Computed from the board rows (each holds its subject's folded queries and SDV marks) and a date,
so the lists work while Temporal is down.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from domain.crf import form_label
from domain.monitoring_state import Query, QueryStatus, SignatureRecord
from domain.protocol import Protocol
from store.projection import BoardRow
from web.readside import board_item

__all__ = [
    "QueryRow",
    "SdvRow",
    "SiteReport",
    "query_rows",
    "sdv_rows",
    "site_reports",
    "subject_oversight",
]


class QueryRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    site_id: str | None
    query_id: str
    form: str
    form_label: str
    target_seq: int
    field: str | None
    question: str
    status: QueryStatus
    opened_at: datetime
    opened_by: str
    answer: str | None
    answered_by: str | None
    age_days: int
    # Open (unanswered) for longer than the protocol's query_answer_days.
    overdue: bool


class SdvRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    form: str
    label: str
    level: str
    status: str  # verified, not_verified, reset, not_required
    verified_by: str | None = None
    verified_at: datetime | None = None
    reset_cause: str | None = None


class SiteReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    site_id: str
    subjects: int
    forms_to_verify: int
    forms_verified: int
    verified_percent: float
    open_queries: int
    overdue_queries: int
    overdue_visits: int


def _query_row(row: BoardRow, q: Query, today: date, protocol: Protocol) -> QueryRow:
    age = (today - q.opened_at.date()).days
    return QueryRow(
        subject_id=row.subject_id,
        site_id=row.site_id,
        query_id=q.query_id,
        form=q.form,
        form_label=form_label(q.form),
        target_seq=q.target_seq,
        field=q.field,
        question=q.question,
        status=q.status,
        opened_at=q.opened_at,
        opened_by=q.opened_by,
        answer=q.answer,
        answered_by=q.answered_by,
        age_days=age,
        overdue=q.status == "open" and age > protocol.monitoring.query_answer_days,
    )


def query_rows(
    rows: Iterable[BoardRow],
    today: date,
    protocol: Protocol,
    *,
    site: str | None = None,
    status: str | None = None,
    min_age_days: int | None = None,
) -> list[QueryRow]:
    """Every query of the given subjects, filtered; overdue first, then oldest first."""
    found = [
        _query_row(row, q, today, protocol)
        for row in rows
        if site is None or row.site_id == site
        for q in row.queries
        if status is None or q.status == status
    ]
    if min_age_days is not None:
        found = [r for r in found if r.age_days >= min_age_days]
    return sorted(found, key=lambda r: (not r.overdue, r.opened_at, r.query_id))


def sdv_rows(row: BoardRow, protocol: Protocol) -> list[SdvRow]:
    """One line per form holding data: its SDV requirement and where it stands."""
    marks = {m.form: m for m in row.sdv}
    out = []
    for form in row.forms:
        level = protocol.monitoring.sdv_level(form)
        mark = marks.get(form)
        if mark is None:
            status = "not_required" if level == "none" else "not_verified"
        else:
            status = "verified" if mark.verified else "reset"
        out.append(
            SdvRow(
                form=form,
                label=form_label(form),
                level=level,
                status=status,
                verified_by=mark.verified_by if mark else None,
                verified_at=mark.verified_at if mark else None,
                reset_cause=mark.reset_cause if mark and not mark.verified else None,
            )
        )
    return out


def site_reports(rows: Iterable[BoardRow], today: date, protocol: Protocol) -> list[SiteReport]:
    """Per site: forms verified of those needing SDV, open and overdue queries, overdue visits."""
    by_site: dict[str, list[BoardRow]] = {}
    for row in rows:
        by_site.setdefault(row.site_id or "unknown", []).append(row)
    reports = []
    for site_id, site_rows in sorted(by_site.items()):
        lines = [line for row in site_rows for line in sdv_rows(row, protocol)]
        needed = [line for line in lines if line.level != "none"]
        verified = sum(1 for line in needed if line.status == "verified")
        queries = query_rows(site_rows, today, protocol)
        reports.append(
            SiteReport(
                site_id=site_id,
                subjects=len(site_rows),
                forms_to_verify=len(needed),
                forms_verified=verified,
                verified_percent=round(100.0 * verified / len(needed), 1) if needed else 100.0,
                open_queries=sum(1 for q in queries if q.status != "closed"),
                overdue_queries=sum(1 for q in queries if q.overdue),
                overdue_visits=sum(len(board_item(row, today).overdue) for row in site_rows),
            )
        )
    return reports


def subject_oversight(
    row: BoardRow | None,
    signatures: tuple[SignatureRecord, ...],
    offered: Iterable[str],
    today: date,
    protocol: Protocol,
) -> dict[str, object]:
    """The subject page's queries, SDV and signatures section (template ``oversight.html``)."""
    return {
        "queries": query_rows([row], today, protocol) if row else [],
        "sdv": sdv_rows(row, protocol) if row else [],
        "signatures": signatures,
        "locks": row.locks if row else (),
        "oversight_offered": frozenset(offered),
    }
