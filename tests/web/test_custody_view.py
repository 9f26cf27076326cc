"""The material board's stages from folded subjects: what is where, and what has left."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from domain import commands as c
from domain.protocol import load_protocol
from tests.domain.custody_steps import collect
from tests.domain.journey import COORDINATOR, INVESTIGATOR, Journey
from tests.domain.test_custody import (
    at_manufacturing,
    enrolled,
    stored,
    thawed,
    two_person_check,
)
from web.custody_view import material_board, unit_views, vein_to_vein

PROTOCOL = load_protocol()


def test_units_move_from_transit_to_manufacturing_to_awaiting_infusion() -> None:
    transit = enrolled("S-0001")
    _collect(transit)
    making = enrolled("S-0002")
    at_manufacturing(making)
    waiting = enrolled("S-0003")
    stored(waiting)
    board = material_board([transit.state, making.state, waiting.state])
    assert [(i.subject_id, i.stage, i.step) for i in board] == [
        ("S-0003", "awaiting_infusion", "stored"),
        ("S-0002", "in_manufacturing", "manufacturing_started"),
        ("S-0001", "in_transit", "collected"),
    ]
    views = unit_views(waiting.state)
    assert [v.stage for v in views] == ["in_manufacturing", "awaiting_infusion"]
    assert views[1].label_url.endswith(f"unit_id={quote(views[1].unit.unit_id)}")


def test_a_replaced_apheresis_unit_leaves_the_board() -> None:
    j = enrolled("S-0004")
    _collect(j)
    j.send(COORDINATOR, j.failure())
    _collect(j)
    board = material_board([j.state])
    assert [i.unit_id[-4:] for i in board] == ["AP02"]


def _collect(j: Journey) -> None:
    j.send(COORDINATOR, collect(j.now))


def test_vein_to_vein_counts_days_from_first_collection_to_infusion() -> None:
    j = enrolled("S-0005")
    collected_at = j.now
    product = thawed(j)
    two_person_check(j, product)
    j.now += timedelta(minutes=2)
    j.send(
        INVESTIGATOR,
        c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6),
    )
    result = vein_to_vein([j.state, enrolled("S-0006").state])
    expected = round((j.now - collected_at).total_seconds() / 86_400, 1)
    assert [(r.subject_id, r.days) for r in result.per_subject] == [("S-0005", expected)]
    assert result.median_days == expected
