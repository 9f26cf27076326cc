"""Day 0 is the baseline; follow-up visits carry activity, dose and derived disease responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain import commands as c
from domain.errors import ValueOutOfRange
from domain.events import parse_event
from domain.protocol import PROTOCOLS_DIR, Protocol, load_protocol, parse_protocol
from domain.response import DiseaseActivity, ResponseDefinition, meets
from domain.subject import fold
from domain.values import Disease
from tests.domain.journey import COORDINATOR, INVESTIGATOR, Journey

PROTOCOL = load_protocol()
RULES = PROTOCOL.response
assert RULES is not None
DISEASES: tuple[Disease, ...] = ("SLE", "SS", "SSc", "DM", "ANCA-AAV")


def journey(disease: Disease = "SLE", protocol: Protocol = PROTOCOL) -> Journey:
    j = Journey(protocol, disease=disease)
    j.to_phase("infused")
    return j


def visit(j: Journey, code: str, **fields: Any) -> c.CompleteVisit:
    target = j.state.visit(code)
    assert target is not None
    j.go_to(target.target)
    return c.CompleteVisit.model_validate(
        {"occurred_at": j.now, "code": code, "completed_on": target.target, **fields}
    )


def test_day_0_completes_without_a_response_and_refuses_one() -> None:
    j = journey()
    before = j.state
    with pytest.raises(ValueOutOfRange, match="baseline") as refused:
        j.send(COORDINATOR, visit(j, "D0", response="SD"))
    assert refused.value.field == "response"
    assert j.state == before
    [event] = j.send(COORDINATOR, visit(j, "D0"))
    assert event.payload.response is None and event.payload.responses == ()
    assert j.state.visit("D0").status == "completed"  # type: ignore[union-attr]


MEASURES: dict[str, dict[str, Any]] = {
    "SLE": {"sledai_2k": 2},
    "SS": {"essdai": 9},
    "SSc": {"mrss": 10, "ild_status": "stable"},
    "DM": {"tis": 42.5},
    "ANCA-AAV": {"bvas": 0},
}


@pytest.mark.parametrize("disease", DISEASES)
def test_a_follow_up_without_the_disease_measure_is_refused_naming_the_field(
    disease: Disease,
) -> None:
    j = journey(disease)
    j.send(COORDINATOR, visit(j, "D0"))
    before = j.state
    for name in MEASURES[disease]:
        partial = {k: v for k, v in MEASURES[disease].items() if k != name}
        command = visit(
            j, "M1", response="PR", activity=partial or None, glucocorticoid_mg_per_day=5
        )
        with pytest.raises(ValueOutOfRange, match=name) as refused:
            j.send(COORDINATOR, command)
        assert refused.value.field == f"activity.{name}"
    assert j.state == before


def test_a_follow_up_needs_the_response_and_the_glucocorticoid_dose() -> None:
    j = journey()
    j.send(COORDINATOR, visit(j, "D0"))
    with pytest.raises(ValueOutOfRange) as no_response:
        j.send(COORDINATOR, visit(j, "M1", activity={"sledai_2k": 2}, glucocorticoid_mg_per_day=5))
    assert no_response.value.field == "response"
    with pytest.raises(ValueOutOfRange, match="glucocorticoid") as no_dose:
        j.send(COORDINATOR, visit(j, "M1", response="PR", activity={"sledai_2k": 2}))
    assert no_dose.value.field == "glucocorticoid_mg_per_day"


def test_a_measure_of_another_disease_is_refused_naming_it() -> None:
    j = journey("SLE")
    j.send(COORDINATOR, visit(j, "D0"))
    command = visit(
        j, "M1", response="PR", activity={"sledai_2k": 2, "bvas": 3}, glucocorticoid_mg_per_day=5
    )
    with pytest.raises(ValueOutOfRange, match="not a SLE measure") as refused:
        j.send(COORDINATOR, command)
    assert refused.value.field == "activity.bvas"


def test_responses_are_derived_against_the_screening_baseline_and_kept_in_the_state() -> None:
    j = journey("SLE")  # screening SLEDAI-2K 12
    assert j.state.response_baseline == DiseaseActivity(sledai_2k=12)
    j.send(COORDINATOR, visit(j, "D0"))
    [event] = j.send(
        COORDINATOR,
        visit(j, "M1", response="PR", activity={"sledai_2k": 4}, glucocorticoid_mg_per_day=7.5),
    )
    derived = {r.name: r.met for r in event.payload.responses}
    assert derived == {
        "DORIS remission": False,  # SLEDAI-2K 4 > 0
        "LLDAS": True,  # 4 ≤ 4 and 7.5 ≤ 7.5
        "SRI-4 (SLEDAI-2K component)": True,  # 12 → 4
    }
    assert event.schema_version == 2
    [assessment] = j.state.assessments
    assert (assessment.code, assessment.glucocorticoid_mg_per_day) == ("M1", 7.5)
    assert assessment.responses == event.payload.responses
    assert fold(j.events) == j.state


def defined(name: str) -> ResponseDefinition:
    assert RULES is not None
    return next(d for d in RULES.definitions if d.name == name)


# (definition, activity, glucocorticoid mg/day, screening baseline, expected)
BOUNDARIES: list[Any] = [
    ("DORIS remission", {"sledai_2k": 0}, 5.0, 12, True),
    ("DORIS remission", {"sledai_2k": 0}, 5.01, 12, False),
    ("DORIS remission", {"sledai_2k": 1}, 0.0, 12, False),
    ("LLDAS", {"sledai_2k": 4}, 7.5, 12, True),
    ("LLDAS", {"sledai_2k": 5}, 7.5, 12, False),
    ("LLDAS", {"sledai_2k": 4}, 7.51, 12, False),
    ("SRI-4 (SLEDAI-2K component)", {"sledai_2k": 8}, 20.0, 12, True),
    ("SRI-4 (SLEDAI-2K component)", {"sledai_2k": 9}, 0.0, 12, False),
    ("ESSDAI improvement ≥ 3", {"essdai": 15}, 10.0, 18, True),
    ("ESSDAI improvement ≥ 3", {"essdai": 16}, 10.0, 18, False),
    ("mRSS improvement ≥ 25 %, ILD not worse", {"mrss": 15, "ild_status": "stable"}, 0, 20, True),
    (
        "mRSS improvement ≥ 25 %, ILD not worse",
        {"mrss": 16, "ild_status": "improved"},
        0,
        20,
        False,
    ),
    (
        "mRSS improvement ≥ 25 %, ILD not worse",
        {"mrss": 15, "ild_status": "worsened"},
        0,
        20,
        False,
    ),
    ("mRSS improvement ≥ 25 %, ILD not worse", {"mrss": 15}, 0, 20, None),
    ("mRSS improvement ≥ 25 %, ILD not worse", {"mrss": 0, "ild_status": "stable"}, 0, 0, False),
    ("TIS minimal improvement", {"tis": 20.0}, 10.0, None, True),
    ("TIS minimal improvement", {"tis": 19.9}, 10.0, None, False),
    ("TIS moderate improvement", {"tis": 40.0}, 10.0, None, True),
    ("TIS moderate improvement", {"tis": 39.9}, 10.0, None, False),
    ("TIS major improvement", {"tis": 60.0}, 10.0, None, True),
    ("TIS major improvement", {"tis": 59.9}, 10.0, None, False),
    ("EULAR remission", {"bvas": 0}, 7.5, 19, True),
    ("EULAR remission", {"bvas": 0}, 7.51, 19, False),
    ("EULAR remission", {"bvas": 1}, 0.0, 19, False),
    ("ADVOCATE remission", {"bvas": 0}, 0.0, 19, True),
    ("ADVOCATE remission", {"bvas": 0}, 0.5, 19, False),
    # Reductions need the screening value: without it the response is not evaluable.
    ("SRI-4 (SLEDAI-2K component)", {"sledai_2k": 0}, 0.0, None, None),
]


@pytest.mark.parametrize(("name", "activity", "dose", "baseline", "expected"), BOUNDARIES)
def test_each_definition_is_inclusive_at_its_stated_thresholds(
    name: str, activity: dict[str, Any], dose: float, baseline: float | None, expected: bool | None
) -> None:
    got = meets(defined(name), DiseaseActivity.model_validate(activity), dose, baseline)
    assert got is expected


def test_every_definition_names_its_source_and_is_marked_a_site_default() -> None:
    assert RULES is not None and RULES.baseline_visit == "D0"
    assert {d.disease for d in RULES.definitions} == set(DISEASES)
    for definition in RULES.definitions:
        assert definition.source and definition.site_default and definition.rule
    assert load_protocol("2.0").response == RULES


def _with_response(section: str) -> str:
    text = (PROTOCOL_FILE).read_text(encoding="utf-8")
    start = text.index("[response]")
    end = text.index("# ---- end issue 12: response")
    return text[:start] + section + text[end:]


PROTOCOL_FILE = PROTOCOLS_DIR / "NCT06243159-v1.toml"

_MEASURES = "".join(
    f'[[response.measures]]\ndisease = "{d}"\nfields = ["{f}"]\nsource = "s"\n'
    for d, f in (
        ("SLE", "sledai_2k"),
        ("SS", "essdai"),
        ("SSc", "mrss"),
        ("DM", "tis"),
        ("ANCA-AAV", "bvas"),
    )
)


_DM_MEASURE = '[[response.measures]]\ndisease = "DM"\nfields = ["tis"]\nsource = "s"\n'


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[response]\nsource = "s"\nbaseline_visit = "D1"\n' + _MEASURES, "baseline_visit"),
        (
            '[response]\nsource = "s"\n'
            + _MEASURES
            + '[[response.definitions]]\ndisease = "SLE"\nname = "x"\nmeasure = "bvas"\n'
            'max_value = 0\nsource = "s"\n',
            "do not record",
        ),
        (
            '[response]\nsource = "s"\n'
            + _MEASURES
            + '[[response.definitions]]\ndisease = "SLE"\nname = "x"\nmeasure = "sledai_2k"\n'
            'source = "s"\n',
            "states no threshold",
        ),
        ('[response]\nsource = "s"\n' + _MEASURES.replace(_DM_MEASURE, ""), "no measure for DM"),
    ],
)
def test_a_response_section_that_cannot_be_applied_is_refused_at_load(
    section: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_protocol(_with_response(section))


def test_a_day_0_response_cannot_be_brought_back_by_a_correction() -> None:
    j = journey()
    [d0] = j.send(COORDINATOR, visit(j, "D0"))
    with pytest.raises(ValueOutOfRange, match="baseline") as refused:
        j.send(
            INVESTIGATOR,
            c.RecordCorrection(
                occurred_at=j.now, target_seq=d0.seq, field="response", new_value="PR", reason="x"
            ),
        )
    assert refused.value.field == "new_value"


def test_events_recorded_before_responses_are_read_as_written() -> None:
    """A protocol without [response]: Day 0 carries a response, no visit carries activity."""
    legacy = PROTOCOL.model_copy(update={"response": None})
    j = journey("SLE", legacy)
    [d0] = j.send(COORDINATOR, visit(j, "D0", response="SD"))
    [m1] = j.send(COORDINATOR, visit(j, "M1", response="PR"))
    for event in (d0, m1):
        stored = json.loads(event.envelope_text())
        assert stored["schema_version"] == 1
        assert set(stored["payload"]) == {
            "type",
            "schema_version",
            "code",
            "completed_on",
            "response",
        }
        # Read back (as the store and the audit do), it is the same event, byte for byte.
        assert parse_event(stored).envelope_text() == event.envelope_text()
    # Folded under today's code: the Day 0 response stays as recorded, nothing is derived.
    state = fold(j.events)
    assert state.visit("D0").response == "SD"  # type: ignore[union-attr]
    assert state.assessments == ()
    with pytest.raises(ValueOutOfRange, match="records no disease activity"):
        j.send(
            COORDINATOR,
            visit(j, "M2", response="PR", activity={"sledai_2k": 1}, glucocorticoid_mg_per_day=5),
        )


def test_a_corrected_screening_score_is_the_baseline_of_later_visits() -> None:
    j = journey("SLE")  # SLEDAI-2K 12 at screening
    screening = next(e.seq for e in j.events if e.type == "screening.recorded")
    j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now,
            target_seq=screening,
            field="record.sledai",
            new_value=8,
            reason="source document: 8",
        ),
    )
    assert j.state.response_baseline == DiseaseActivity(sledai_2k=8)
    j.send(COORDINATOR, visit(j, "D0"))
    [m1] = j.send(
        COORDINATOR,
        visit(j, "M1", response="PR", activity={"sledai_2k": 5}, glucocorticoid_mg_per_day=5),
    )
    # 8 → 5 is 3 points: not SRI-4 (it would have been from 12).
    sri4 = next(r for r in m1.payload.responses if r.name.startswith("SRI-4"))
    assert sri4.met is False
    assert fold(j.events) == j.state


def correct_m1(j: Journey, field: str, value: Any) -> list[Any]:
    m1 = next(e.seq for e in reversed(j.events) if e.type == "visit.completed")
    return j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=m1, field=field, new_value=value, reason="source"
        ),
    )


def followed_to_m1(protocol: Protocol = PROTOCOL) -> Journey:
    j = journey("SLE", protocol)  # SLEDAI-2K 12 at screening
    j.send(COORDINATOR, visit(j, "D0"))
    fields = {"activity": {"sledai_2k": 4}, "glucocorticoid_mg_per_day": 5.0}
    j.send(COORDINATOR, visit(j, "M1", response="PR", **fields))
    return j


def met(j: Journey) -> dict[str, bool | None]:
    [assessment] = j.state.assessments
    return {r.name: r.met for r in assessment.responses}


def test_a_corrected_activity_or_dose_derives_the_responses_again() -> None:
    j = followed_to_m1()
    assert met(j)["DORIS remission"] is False
    [event] = correct_m1(j, "activity", {"sledai_2k": 0})
    assert event.payload.new_value["sledai_2k"] == 0
    assert {r.name: r.met for r in event.payload.responses}["DORIS remission"] is True
    assert met(j)["DORIS remission"] is True
    correct_m1(j, "glucocorticoid_mg_per_day", 7.6)
    assert met(j) == {
        "DORIS remission": False,
        "LLDAS": False,  # 7.6 > 7.5
        "SRI-4 (SLEDAI-2K component)": True,
    }
    assert j.state.assessments[0].glucocorticoid_mg_per_day == 7.6
    assert fold(j.events) == j.state


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("activity", {"sledai_2k": 1, "bvas": 2}, "not a SLE measure"),
        ("activity", None, "needs the SLE activity measure"),
        ("activity", {"sledai_2k": 200}, "less than or equal to 105"),
        ("glucocorticoid_mg_per_day", None, "needs the glucocorticoid dose"),
        ("glucocorticoid_mg_per_day", -1, "greater than or equal to 0"),
    ],
)
def test_a_corrected_activity_or_dose_is_held_to_the_visits_rules(
    field: str, value: Any, message: str
) -> None:
    j = followed_to_m1()
    before = j.state
    with pytest.raises(ValueOutOfRange, match=message) as refused:
        correct_m1(j, field, value)
    assert refused.value.field == "new_value"
    assert j.state == before


def test_without_response_rules_activity_is_no_correctable_field() -> None:
    j = journey("SLE", PROTOCOL.model_copy(update={"response": None}))
    j.send(COORDINATOR, visit(j, "D0", response="SD"))
    with pytest.raises(ValueOutOfRange, match="records no disease activity") as refused:
        correct_m1(j, "activity", {"sledai_2k": 1})
    assert refused.value.field == "field"
