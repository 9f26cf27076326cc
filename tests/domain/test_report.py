"""Objective response rate: hand-counted figures and exact Clopper–Pearson intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import commands as c
from domain.protocol import load_protocol
from domain.report import ResponseRow, clopper_pearson, orr, regularized_beta, rows_from_streams
from tests.domain.journey import COORDINATOR, INVESTIGATOR, SYSTEM, Journey


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.3085),
        (5, 10, 0.1871, 0.8129),
        (10, 10, 0.6915, 1.0),
        (1, 6, 0.0042, 0.6412),
        (3, 20, 0.0321, 0.3789),
        (1, 1, 0.025, 1.0),
    ],
)
def test_clopper_pearson_matches_published_exact_intervals(
    x: int, n: int, low: float, high: float
) -> None:
    got = clopper_pearson(x, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_regularized_beta_is_a_cdf_with_known_closed_forms() -> None:
    # I_x(1, 1) = x and I_x(a, 1) = x**a.
    assert regularized_beta(0.3, 1, 1) == pytest.approx(0.3)
    assert regularized_beta(0.5, 3, 1) == pytest.approx(0.125)
    assert regularized_beta(0.0, 2, 5) == 0.0 and regularized_beta(1.0, 2, 5) == 1.0


@pytest.mark.parametrize(("x", "n"), [(-1, 5), (6, 5), (0, 0)])
def test_clopper_pearson_refuses_impossible_counts(x: int, n: int) -> None:
    with pytest.raises(ValueError):
        clopper_pearson(x, n)


def row(
    subject: str,
    disease: str,
    level: str,
    timepoint: str,
    response: str | None,
    status: str = "assessed",
    derived: dict[str, bool | None] | None = None,
) -> ResponseRow:
    return ResponseRow.model_validate(
        {
            "subject_id": subject,
            "disease": disease,
            "dose_level": level,
            "timepoint": timepoint,
            "status": status,
            "response": response,
            "disease_responses": [{"name": k, "met": v} for k, v in (derived or {}).items()],
        }
    )


ROWS = [
    row("S1", "SLE", "DL1", "M3", "CR"),
    row("S2", "SLE", "DL1", "M3", "PR"),
    row("S3", "SLE", "DL2", "M3", "SD"),
    row("S4", "SSc", "DL2", "M3", "PR"),
    row("S5", "SSc", "DL2", "M3", "PD"),
    row("S6", "DM", "DL1", "M3", "NE"),
    row("S7", "DM", "DL1", "M3", None, status="missed"),
    row("S8", "SLE", "DL2", "M3", None, status="withdrawn"),
    row("S9", "SLE", "DL2", "M3", None, status="not_yet"),
    row("S1", "SLE", "DL1", "M1", "PR"),
    row("S2", "SLE", "DL1", "M1", "SD"),
]


def test_ne_missed_and_withdrawn_are_non_responders_in_the_denominator() -> None:
    report = orr(ROWS)
    m3 = report.cell("M3")
    assert m3 is not None
    # 9 infused rows at M3, one not yet there: 8 in the denominator, CR + PR = 3.
    assert (m3.denominator, m3.assessed, m3.responders) == (8, 6, 3)
    assert (m3.ne, m3.missed, m3.withdrawn, m3.not_yet) == (1, 1, 1, 1)
    assert m3.orr == pytest.approx(3 / 8)
    assert (m3.ci_low, m3.ci_high) == pytest.approx(clopper_pearson(3, 8))
    sle = report.cell("M3", "disease", "SLE")
    ssc = report.cell("M3", "disease", "SSc")
    dm = report.cell("M3", "disease", "DM")
    assert sle is not None and ssc is not None and dm is not None
    assert (sle.responders, sle.denominator, sle.withdrawn, sle.not_yet) == (2, 4, 1, 1)
    assert (ssc.responders, ssc.denominator) == (1, 2)
    # NE and missed only: a rate of 0 over 2, not "nothing evaluable".
    assert (dm.responders, dm.denominator, dm.orr) == (0, 2, 0.0)
    assert (dm.ci_low, dm.ci_high) == pytest.approx(clopper_pearson(0, 2))
    dl1 = report.cell("M3", "dose_level", "DL1")
    dl2 = report.cell("M3", "dose_level", "DL2")
    assert dl1 is not None and dl2 is not None
    assert (dl1.responders, dl1.denominator) == (2, 4)
    assert (dl2.responders, dl2.denominator) == (1, 4)
    m1 = report.cell("M1")
    assert m1 is not None and (m1.responders, m1.denominator) == (1, 2)
    assert "non-responders" in report.rule and "baseline" in report.rule


def test_a_timepoint_nobody_has_reached_has_no_rate() -> None:
    report = orr([row("S1", "SLE", "DL1", "M12", None, status="not_yet")])
    cell = report.cell("M12")
    assert cell is not None and (cell.denominator, cell.not_yet, cell.orr) == (0, 1, None)
    assert report.timepoints == ("M12",) and report.cell("D0") is None


def test_disease_specific_rates_count_missed_and_unjudged_visits_as_non_responders() -> None:
    lldas = {"LLDAS": True}
    rows = [
        *(row(f"A{i}", "SLE", "DL1", "M6", "PR", derived=lldas) for i in range(5)),
        row("B1", "SLE", "DL1", "M6", "SD", derived={"LLDAS": False}),
        row("B2", "SLE", "DL1", "M6", "NE", derived={"LLDAS": None}),
        row("B3", "SLE", "DL1", "M6", "PR"),  # recorded before activity was
        row("B4", "SLE", "DL1", "M6", None, status="missed"),
        row("B5", "SLE", "DL1", "M6", None, status="withdrawn"),
    ]
    defined = load_protocol().response
    assert defined is not None
    report = orr(rows, definitions=defined.definitions)
    cell = report.disease_cell("M6", "SLE", "LLDAS")
    assert cell is not None
    assert (cell.responders, cell.denominator) == (5, 10)
    assert (cell.not_evaluable, cell.missed, cell.withdrawn) == (2, 1, 1)
    # 5/10: the exact interval is 18.71 %–81.29 %.
    assert (cell.ci_low, cell.ci_high) == pytest.approx((0.1871, 0.8129), abs=5e-5)
    assert cell.rule == "SLEDAI-2K ≤ 4 and glucocorticoid ≤ 7.5 mg/day (prednisone equivalent)"
    assert "Franklyn" in cell.source
    doris = report.disease_cell("M6", "SLE", "DORIS remission")
    assert doris is not None and (doris.responders, doris.denominator) == (0, 10)
    assert (doris.ci_low, doris.ci_high) == pytest.approx((0.0, 0.3085), abs=5e-5)
    # Only the diseases with subjects at the timepoint are reported.
    assert {c.disease for c in report.disease_cells} == {"SLE"}


def test_rows_follow_the_fold_corrections_missed_visits_and_ended_participation() -> None:
    j = Journey(load_protocol())
    j.to_phase("follow_up")  # Day 0 done: the baseline, no response
    [m1] = j.send(COORDINATOR, j.complete("M1", "PR"))
    j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=m1.seq, field="response", new_value="SD", reason="SDV"
        ),
    )
    m2 = j.state.visit("M2")
    assert m2 is not None
    j.go_to(m2.window_end + timedelta(days=1))
    j.send(SYSTEM, c.MissVisit(occurred_at=j.now, code="M2"))
    j.send(COORDINATOR, j.complete("M3", "CR"))
    j.send(
        INVESTIGATOR,
        c.EndParticipation(
            occurred_at=j.now, outcome="withdrawn", ended_on=j.today, reason="moved away"
        ),
    )
    other = Journey(load_protocol(), subject_id="S-0002")
    other.to_phase("enrolled")  # never infused: no rows
    rows = rows_from_streams([j.events, other.events])
    got = [(r.timepoint, r.status, r.response) for r in rows]
    assert got == [
        ("M1", "assessed", "SD"),
        ("M2", "missed", None),
        ("M3", "assessed", "CR"),
        ("M6", "withdrawn", None),
        ("M12", "withdrawn", None),
    ]
    assert {x.name: x.met for x in rows[2].disease_responses} == {
        "DORIS remission": False,
        "LLDAS": True,
        "SRI-4 (SLEDAI-2K component)": True,
    }


def test_a_day_0_response_recorded_before_it_became_the_baseline_is_not_reported() -> None:
    j = Journey(load_protocol().model_copy(update={"response": None}))
    j.to_phase("follow_up")  # Day 0 completed with PR, as protocols without [response] did
    j.send(COORDINATOR, j.complete("M1", "CR"))
    rows = rows_from_streams([j.events])
    assert [(r.timepoint, r.response) for r in rows][:2] == [("M1", "CR"), ("M2", None)]
    assert rows[0].disease_responses == ()
    report = orr(rows)
    m1 = report.cell("M1")
    assert m1 is not None and (m1.responders, m1.denominator) == (1, 1)
    assert report.cell("D0") is None
