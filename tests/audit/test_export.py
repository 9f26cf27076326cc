"""Exports: jsonl and csv carry every event; ODM validates against the official 1.3.2 schema."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from audit.export import CSV_COLUMNS, export_csv, export_jsonl
from audit.odm import ODM_NAMESPACE, export_odm
from cli.main import app
from domain.events import verify_chain
from store.sql import SqlEventStore

NS = {"odm": ODM_NAMESPACE}
# The official CDISC ODM 1.3.2 schema, as shipped by the odmlib package (a dev dependency).
ODM_XSD = files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


@pytest.fixture(scope="module")
def odm_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ODM_XSD)))


def _odm(store: SqlEventStore, subject: str | None = None) -> etree._Element:
    out = io.StringIO()
    export_odm(store, out, subject, created=datetime(2026, 1, 1, tzinfo=UTC))
    return etree.fromstring(out.getvalue().encode("utf-8"))


def test_jsonl_round_trips_every_event_and_still_verifies(audit_store: SqlEventStore) -> None:
    out = io.StringIO()

    written = export_jsonl(audit_store, out)

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert written == len(rows) == audit_store.count_events()
    for subject in ("S-001", "S-002"):
        stream = [r for r in rows if r["stream"] == subject]
        assert stream == audit_store.read_raw(subject)
        assert verify_chain(subject, stream) is None


def test_csv_has_one_row_per_event_with_the_payload_as_json(audit_store: SqlEventStore) -> None:
    out = io.StringIO()

    written = export_csv(audit_store, out, subject="S-001")

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert written == len(rows) == 10
    correction = rows[-1]
    assert correction["type"] == "correction.recorded"
    assert correction["reason"] == "transcription error: the bag label reads 221.5 mL"
    assert json.loads(correction["payload"])["new_value"] == 221.5


def test_odm_export_validates_against_the_odm_1_3_2_schema(
    audit_store: SqlEventStore, odm_schema: etree.XMLSchema
) -> None:
    document = _odm(audit_store)

    assert odm_schema.validate(document), odm_schema.error_log
    subjects = document.findall("odm:ClinicalData/odm:SubjectData", NS)
    assert [s.get("SubjectKey") for s in subjects] == ["S-001", "S-002"]
    forms = document.findall(".//odm:FormData", NS)
    assert len(forms) == audit_store.count_events()


def test_every_odm_item_carries_its_own_audit_record(audit_store: SqlEventStore) -> None:
    document = _odm(audit_store, "S-002")

    items = document.findall(".//odm:ItemData", NS)
    assert items
    for item in items:
        record = item.find("odm:AuditRecord", NS)
        assert record is not None
        assert record.find("odm:UserRef", NS).get("UserOID") == "U.coord-1"  # type: ignore[union-attr]
        assert record.find("odm:LocationRef", NS).get("LocationOID") == "L.SBH-01"  # type: ignore[union-attr]
        assert record.findtext("odm:DateTimeStamp", namespaces=NS)
        assert "sha256:" in (record.findtext("odm:SourceID", namespaces=NS) or "")


def test_a_correction_is_an_update_audit_record_with_its_reason(
    audit_store: SqlEventStore,
) -> None:
    document = _odm(audit_store, "S-001")

    volume = document.findall(".//odm:ItemData[@ItemOID='I.APHERESIS_RECORDED.VOLUME_ML']", NS)

    assert [(i.get("TransactionType"), i.get("Value")) for i in volume] == [
        ("Insert", "212.5"),
        ("Update", "221.5"),
    ]
    update = volume[1]
    form = update.getparent().getparent()  # type: ignore[union-attr]
    assert (form.get("FormRepeatKey"), form.get("TransactionType")) == ("6", "Context")
    assert update.findtext("odm:AuditRecord/odm:ReasonForChange", namespaces=NS) == (
        "transcription error: the bag label reads 221.5 mL"
    )
    assert "S-001#10 correction.recorded" in (
        update.findtext("odm:AuditRecord/odm:SourceID", namespaces=NS) or ""
    )


def test_export_cli_writes_each_format_to_a_file(
    audit_store: SqlEventStore, tmp_path: Path, odm_schema: etree.XMLSchema
) -> None:
    url = audit_store.url.render_as_string(hide_password=False)
    for fmt in ("jsonl", "csv", "odm"):
        out = tmp_path / f"trail.{fmt}"
        result = CliRunner().invoke(
            app, ["audit", "export", "--format", fmt, "--store-url", url, str(out)]
        )
        assert result.exit_code == 0, result.output
        assert "exported 19 event(s)" in result.stderr

    assert len((tmp_path / "trail.jsonl").read_text().splitlines()) == 19
    assert len((tmp_path / "trail.csv").read_text().splitlines()) == 20
    assert odm_schema.validate(etree.parse(str(tmp_path / "trail.odm")))
