"""Objective response rate: hand-counted figures and exact Clopper–Pearson intervals."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.protocol import load_protocol
from domain.report import ResponseRow, clopper_pearson, orr, regularized_beta, rows_from_streams
from tests.domain.journey import INVESTIGATOR, Journey


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


def row(subject: str, disease: str, level: str, timepoint: str, response: str) -> ResponseRow:
    return ResponseRow.model_validate(
        {
            "subject_id": subject,
            "disease": disease,
            "dose_level": level,
            "timepoint": timepoint,
            "response": response,
        }
    )


ROWS = [
    row("S1", "SLE", "DL1", "M3", "CR"),
    row("S2", "SLE", "DL1", "M3", "PR"),
    row("S3", "SLE", "DL2", "M3", "SD"),
    row("S4", "SSc", "DL2", "M3", "PR"),
    row("S5", "SSc", "DL2", "M3", "PD"),
    row("S6", "DM", "DL1", "M3", "NE"),
    row("S1", "SLE", "DL1", "M1", "PR"),
    row("S2", "SLE", "DL1", "M1", "SD"),
]


def test_orr_overall_per_disease_and_per_dose_level_match_a_hand_count() -> None:
    report = orr(ROWS)
    m3 = report.cell("M3")
    assert m3 is not None
    # 6 assessed, NE excluded: 5 evaluable, CR+PR = 3.
    assert (m3.assessed, m3.evaluable, m3.responders, m3.ne) == (6, 5, 3, 1)
    assert m3.orr == pytest.approx(0.6)
    assert (m3.ci_low, m3.ci_high) == pytest.approx(clopper_pearson(3, 5))
    sle = report.cell("M3", "disease", "SLE")
    ssc = report.cell("M3", "disease", "SSc")
    dm = report.cell("M3", "disease", "DM")
    assert sle is not None and ssc is not None and dm is not None
    assert (sle.responders, sle.evaluable) == (2, 3)
    assert (ssc.responders, ssc.evaluable) == (1, 2)
    # Only an NE assessment: no rate, no interval.
    assert (dm.evaluable, dm.orr, dm.ci_low) == (0, None, None)
    dl1 = report.cell("M3", "dose_level", "DL1")
    dl2 = report.cell("M3", "dose_level", "DL2")
    assert dl1 is not None and dl2 is not None
    assert (dl1.responders, dl1.evaluable, dl1.orr) == (2, 2, 1.0)
    assert (dl2.responders, dl2.evaluable) == (1, 3)
    m1 = report.cell("M1")
    assert m1 is not None and (m1.responders, m1.evaluable) == (1, 2)


def test_every_timepoint_has_an_overall_row_even_without_assessments() -> None:
    report = orr(ROWS)
    for timepoint in ("D0", "M1", "M2", "M3", "M6", "M12"):
        cell = report.cell(timepoint)
        assert cell is not None
    empty = report.cell("M12")
    assert empty is not None and (empty.assessed, empty.orr) == (0, None)


def test_rows_from_streams_use_the_corrected_response() -> None:
    j = Journey(load_protocol())
    j.to_phase("follow_up")  # D0 completed with PR
    d0_seq = next(e.seq for e in j.events if e.type == "visit.completed")
    j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=d0_seq, field="response", new_value="SD", reason="SDV"
        ),
    )
    other = Journey(load_protocol(), subject_id="S-0002")
    other.to_phase("enrolled")  # never infused: no rows
    rows = rows_from_streams([j.events, other.events])
    assert [(r.subject_id, r.timepoint, r.response, r.dose_level) for r in rows] == [
        ("S-0001", "D0", "SD", "DL1")
    ]
