"""`trial report orr` reads subject streams from the store and reports hand-countable figures."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, Journey


def subject(subject_id: str, disease: str, responses: dict[str, str]) -> Journey:
    j = Journey(load_protocol(), subject_id=subject_id)
    j.send(COORDINATOR, j.register(disease))
    j.send(COORDINATOR, j.consent())
    j.send(COORDINATOR, j.screening(disease))
    j.send(PI, j.sign())
    j.send(INVESTIGATOR, j.enroll())
    j.send(COORDINATOR, j.apheresis())
    j.send(COORDINATOR, j.release())
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    j.send(PI, j.approve())
    j.give_doses()
    j.send(INVESTIGATOR, j.infuse())
    for code, response in responses.items():
        j.send(COORDINATOR, j.complete(code, response))
    return j


def test_orr_json_matches_a_hand_count_from_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    journeys = [
        subject("S-0001", "SLE", {"D0": "", "M1": "CR"}),
        subject("S-0002", "SLE", {"D0": "", "M1": "PR"}),
        subject("S-0003", "SSc", {"D0": "", "M1": "NE"}),
    ]
    with SqlEventStore(url) as store:
        for j in journeys:
            store.append(j.events)

    result = CliRunner().invoke(app, ["report", "orr", "--json", "--store-url", url])

    assert result.exit_code == 0, result.output
    cells = {(c["timepoint"], c["by"], c["group"]): c for c in json.loads(result.output)["cells"]}
    report = json.loads(result.output)
    m1 = cells[("M1", "overall", "all")]
    # NE stays in the denominator as a non-responder.
    assert (m1["responders"], m1["denominator"], m1["ne"]) == (2, 3, 1)
    assert m1["orr"] == 2 / 3
    # Day 0 is the baseline; Month 2 is still ahead for everyone.
    assert ("D0", "overall", "all") not in cells
    m2 = cells[("M2", "overall", "all")]
    assert (m2["denominator"], m2["not_yet"], m2["orr"]) == (0, 3, None)
    assert cells[("M1", "disease", "SLE")]["orr"] == 1.0
    assert cells[("M1", "disease", "SSc")]["orr"] == 0.0
    assert cells[("M1", "dose_level", "DL1")]["denominator"] == 3
    # The journey's SLE activity (SLEDAI-2K 4 on 5 mg/day, from 12 at screening) is LLDAS.
    lldas = next(
        c for c in report["disease_cells"] if (c["timepoint"], c["definition"]) == ("M1", "LLDAS")
    )
    assert (lldas["responders"], lldas["denominator"]) == (2, 2)
    assert "non-responders" in report["rule"]


def test_orr_table_is_printed_for_people(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with SqlEventStore(url) as store:
        store.append(subject("S-0001", "SLE", {"D0": "", "M1": "PR"}).events)
    result = CliRunner().invoke(app, ["report", "orr", "--store-url", url])
    assert result.exit_code == 0, result.output
    assert "Objective response rate" in result.output
    assert "1/1 100.0%" in result.output
    assert "LLDAS" in result.output and "non-responders" in result.output
