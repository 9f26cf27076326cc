"""A ``lymphodepletion.planned`` event exactly as the code before dated results wrote it (typed,
undated eGFR, schema 1), taken from a recorded Temporal history: its hash still verifies over
the stored form, it is upcast on read (never rewritten), and the subject page's renal line
reads it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from domain.events import parse_event, verify_chain
from domain.protocol import load_protocol
from domain.subject import fold
from web.results_view import results_view

HISTORY = Path(__file__).parents[1] / "histories" / "subject_pre_safety_full_lifecycle.json"


def _stored_events() -> list[dict[str, Any]]:
    """The sealed events of every append_events activity, as their JSON was written."""
    found: list[dict[str, Any]] = []
    for event in json.loads(HISTORY.read_text())["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if not scheduled or scheduled["activityType"]["name"] != "append_events":
            continue
        for payload in scheduled["input"]["payloads"]:
            found += json.loads(base64.b64decode(payload["data"]))["events"]
    return found


def test_an_old_plan_still_verifies_and_is_upcast_to_an_undated_typed_egfr_on_read() -> None:
    raw = _stored_events()
    stream = raw[0]["stream"]
    plan_raw = next(e for e in raw if e["type"] == "lymphodepletion.planned")
    assert plan_raw["payload"]["schema_version"] == 1 and "renal" not in plan_raw["payload"]
    before = json.dumps(plan_raw, sort_keys=True)

    # The chain is checked over the stored JSON: the upcast is a reading, not a rewrite.
    assert verify_chain(stream, raw) is None
    events = [parse_event(e) for e in raw]
    assert json.dumps(plan_raw, sort_keys=True) == before

    plan = next(e for e in events if e.type == "lymphodepletion.planned").payload
    assert plan.type == "lymphodepletion.planned"
    assert plan.schema_version == 2 and plan.egfr == 90.0
    assert plan.renal is not None
    assert (plan.renal.method, plan.renal.value, plan.renal.measured_on) == (
        "typed_egfr",
        90.0,
        None,
    )
    # Its hash is the one it was written with.
    assert next(e for e in events if e.seq == plan_raw["seq"]).hash == plan_raw["hash"]

    state = fold(events)
    assert state.ld_plan is not None and state.ld_plan.renal == plan.renal
    view = results_view(state, load_protocol(), state.ld_plan.infusion_date)
    assert view is not None
    (renal,) = view.renal
    assert renal.basis == "plan"
    assert renal.assessment == "eGFR 90 mL/min/1.73 m² (typed (undated))"
    assert (renal.factor, renal.rule) == (None, "no adjustment")
