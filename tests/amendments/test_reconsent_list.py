"""The dashboard's re-consent list: due and overdue subjects, overdue first, from the board."""

from __future__ import annotations

from datetime import date, timedelta

from domain import commands as c
from domain.actors import Actor, Role
from store.projection import BoardRow
from store.sql import SqlEventStore
from tests.amendments.test_amendment_rules import _amend, _follow_up_to_month_3
from web.reconsent import reconsent_due


def test_amended_subjects_are_listed_due_then_overdue_and_leave_the_list_on_re_consent(
    sqlite_store: SqlEventStore,
) -> None:
    j = _follow_up_to_month_3()
    _amend(j)
    sqlite_store.append(j.events)
    row = sqlite_store.board_row(j.subject_id)
    assert row is not None and row.reconsent_version == "2.0"
    assert row.reconsent_due_on is not None
    due_on = row.reconsent_due_on

    (entry,) = reconsent_due([row], due_on - timedelta(days=3))
    assert (entry.overdue, entry.days_left, entry.protocol_version) == (False, 3, "2.0")
    late = BoardRow(subject_id="S-LATE", reconsent_version="2.0", reconsent_due_on=date(2020, 1, 1))
    listed = reconsent_due([row, late], due_on + timedelta(days=1))
    assert [r.subject_id for r in listed] == ["S-LATE", j.subject_id]
    assert all(r.overdue for r in listed)

    signed = j.send(
        Actor(user_id="cora", role=Role.COORDINATOR),
        c.RecordReconsent(
            occurred_at=j.now, decision="signed", consent_version="2.0", decided_on=j.today
        ),
    )
    sqlite_store.append(signed)
    after = sqlite_store.board_row(j.subject_id)
    assert after is not None and reconsent_due([after], due_on) == []
