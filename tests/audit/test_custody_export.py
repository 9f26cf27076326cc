"""Custody events in the audit exports: the ODM document carries every handoff and check."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from lxml import etree

from audit.odm import ODM_NAMESPACE, export_odm
from domain import commands as c
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from tests.domain.journey import INVESTIGATOR, Journey
from tests.domain.test_custody import enrolled, thawed, two_person_check

NS = {"odm": ODM_NAMESPACE}
ODM_XSD = files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


def infused_journey() -> Journey:
    j = enrolled("S-0007", load_protocol())
    product = thawed(j)
    two_person_check(j, product)
    j.now += timedelta(minutes=3)
    j.send(
        INVESTIGATOR,
        c.RecordInfusion(occurred_at=j.now, infused_on=j.today, weight_kg=60, tu_per_kg=5e6),
    )
    return j


def test_the_odm_export_carries_each_custody_handoff_and_validates(tmp_path: Path) -> None:
    j = infused_journey()
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        store.append(j.events)
        out = io.StringIO()
        written = export_odm(store, out, "S-0007", created=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    assert written == len(j.events)
    document = etree.fromstring(out.getvalue().encode("utf-8"))
    etree.XMLSchema(etree.parse(str(ODM_XSD))).assertValid(document)
    forms = [f.get("FormOID") for f in document.iterfind(".//odm:FormData", NS)]
    for oid in ("COI_ASSIGNED", "CUSTODY_HANDOFF", "QUALITY_RELEASED", "BEDSIDE_CHECK_VERIFIED"):
        assert any(oid in (f or "") for f in forms), oid
    assert sum("CUSTODY_HANDOFF" in (f or "") for f in forms) == 10
