"""Worst grade and grade history per AE, and the protocol's DLT rules: related grade ≥ 3
non-haematologic with its exceptions and durations, prolonged grade 4 cytopenia beyond its day,
related death."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain import commands as c
from domain.grading import CrsComponents, Hypotension
from domain.protocol import load_protocol
from domain.subject import fold
from tests.domain.journey import COORDINATOR, INVESTIGATOR, SYSTEM, Journey
from tests.safety.test_adverse_events import ae, infused

PROTOCOL = load_protocol()
AE1 = "S-0001-AE-1"


def _update(j: Journey, **fields: Any) -> None:
    j.send(INVESTIGATOR, c.UpdateAdverseEvent(occurred_at=j.now, ae_id=AE1, **fields))


def _close_window(j: Journey) -> Any:
    assert j.state.infusion_date is not None
    j.go_to(j.state.infusion_date + timedelta(days=PROTOCOL.safety.dlt_window_days + 1))
    events = j.send(SYSTEM, c.CloseDltWindow(occurred_at=j.now))
    return events[-1].payload


def test_a_crs_that_went_3_to_1_keeps_worst_grade_3_and_its_history() -> None:
    j = infused()
    grade3 = CrsComponents(max_temperature_c=39.5, hypotension=Hypotension.ONE_VASOPRESSOR)
    j.send(INVESTIGATOR, ae(j, kind="CRS", term=None, grade=None, crs=grade3))
    j.advance(2)
    _update(j, crs=CrsComponents(max_temperature_c=38.4))
    crs = j.state.adverse_events[0]
    assert crs.grade == 1
    assert crs.worst == crs.worst_grade == 3
    assert [(h.grade, h.on) for h in crs.grade_history] == [
        (3, j.today - timedelta(days=2)),
        (1, j.today),
    ]
    assert crs.dlt_rule == "CRS grade 3 (≥ 3)"
    assert fold(j.events) == j.state
    assert [e.type for e in j.events].count("ae.updated") == 1


def test_a_general_ae_downgraded_after_the_update_is_still_reported_at_its_worst() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="ALT increased", grade=3, related_to_jy231="unlikely"))
    _update(j, grade=1)
    _update(j, grade=2)
    alt = j.state.adverse_events[0]
    assert (alt.grade, alt.worst) == (2, 3)
    assert [h.grade for h in alt.grade_history] == [3, 1, 2]


@pytest.mark.parametrize(
    ("grade", "related", "dlt"),
    [(3, "possible", True), (2, "definite", False), (3, "unlikely", False), (4, "probable", True)],
)
def test_related_grade_3_non_haematologic_ae_is_a_dlt(grade: int, related: str, dlt: bool) -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="ALT increased", grade=grade, related_to_jy231=related))
    assert (j.state.adverse_events[0].dlt_rule is not None) is dlt


@pytest.mark.parametrize(("days", "dlt"), [(3, False), (4, True)])
def test_an_excepted_term_is_a_dlt_only_when_its_grade_3_episode_outlasts_the_allowance(
    days: int, dlt: bool
) -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Nausea", grade=3))
    assert j.state.adverse_events[0].dlt_rule is None
    j.advance(days)
    _update(j, grade=2)
    rule = j.state.adverse_events[0].dlt_rule
    assert (rule is not None) is dlt
    if dlt:
        assert rule is not None and "lasting 4 days (> 3)" in rule


@pytest.mark.parametrize(("days", "dlt"), [(3, False), (4, True)])
def test_an_excepted_episode_ended_by_resolution_is_judged_on_its_length(
    days: int, dlt: bool
) -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Vomiting", grade=3))
    onset = j.today
    j.advance(days)
    j.send(
        COORDINATOR,
        c.ResolveAdverseEvent(
            occurred_at=j.now, ae_id=AE1, resolved_on=onset + timedelta(days=days)
        ),
    )
    assert (j.state.adverse_events[0].dlt_rule is not None) is dlt


def test_an_excepted_episode_still_going_at_the_window_close_is_settled_there() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Fatigue", grade=3))
    closed = _close_window(j)
    assert closed.outcome == "dlt" and closed.dlt_ae_ids == (AE1,)
    assert "Fatigue lasting" in (j.state.adverse_events[0].dlt_rule or "")


def _cytopenia(j: Journey) -> None:
    j.send(
        INVESTIGATOR,
        ae(
            j,
            term="Neutrophil count decreased",
            grade=4,
            haematologic=True,
            related_to_jy231="unlikely",
        ),
    )


def test_grade_4_neutropenia_still_present_after_day_28_is_a_dlt_at_the_window_close() -> None:
    j = infused()
    _cytopenia(j)
    assert j.state.adverse_events[0].dlt_rule is None
    closed = _close_window(j)
    assert closed.outcome == "dlt"
    assert "beyond day 28" in (j.state.adverse_events[0].dlt_rule or "")


@pytest.mark.parametrize(("recovered_day", "dlt"), [(28, False), (29, True)])
def test_grade_4_neutropenia_recovering_to_grade_3_on_day_28_is_not_a_dlt(
    recovered_day: int, dlt: bool
) -> None:
    j = infused()
    assert j.state.infusion_date is not None
    _cytopenia(j)
    j.go_to(j.state.infusion_date + timedelta(days=recovered_day))
    _update(j, grade=3)
    closed = _close_window(j)
    assert (closed.outcome == "dlt") is dlt


def test_haematologic_terms_outside_the_cytopenia_list_are_never_dlts() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Anemia", grade=4, haematologic=True))
    assert _close_window(j).outcome == "no_dlt"


def test_a_related_death_is_a_dlt() -> None:
    j = infused()
    j.send(
        INVESTIGATOR,
        ae(
            j,
            term="Multi-organ failure",
            grade=5,
            outcome="fatal",
            seriousness=("death",),
            related_to_jy231="probable",
        ),
    )
    assert j.state.adverse_events[0].dlt_rule == "grade 5 AE related to JY231"


@pytest.mark.parametrize(("days", "dlt"), [(7, False), (8, True)])
def test_grade_3_fatigue_is_a_dlt_only_beyond_its_7_days(days: int, dlt: bool) -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Fatigue", grade=3))
    j.advance(days)
    _update(j, grade=1)
    rule = j.state.adverse_events[0].dlt_rule
    assert (rule is not None) is dlt
    if dlt:
        assert rule is not None and "lasting 8 days (> 7)" in rule


def test_a_related_ae_that_worsens_from_grade_2_to_3_becomes_a_dlt_at_the_update() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="ALT increased", grade=2, related_to_jy231="possible"))
    assert j.state.adverse_events[0].dlt_rule is None
    j.advance(1)
    _update(j, grade=3)
    assert j.state.adverse_events[0].dlt_rule == (
        "grade 3 non-haematologic AE related to JY231 (≥ 3)"
    )
    assert "dlt.flagged" in [e.type for e in j.events]


def test_a_death_not_related_to_jy231_is_not_a_dlt() -> None:
    j = infused()
    j.send(
        INVESTIGATOR,
        ae(
            j,
            term="Road traffic accident",
            grade=5,
            outcome="fatal",
            seriousness=("death",),
            related_to_jy231="unrelated",
        ),
    )
    assert j.state.adverse_events[0].dlt_rule is None
