"""The ODM 1.3.2 export carries queries and SDV (Annotation) and signatures (Signature)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from lxml import etree
from typer.testing import CliRunner

from audit.odm import ODM_NAMESPACE, export_odm
from cli.main import app
from domain import commands as c
from domain.protocol import load_protocol
from store.sql import SqlEventStore
from tests.audit.tamper import rewrite
from tests.audit.test_export import ODM_XSD
from tests.domain.journey import COORDINATOR, MONITOR, PI, Journey

NS = {"odm": ODM_NAMESPACE}


def _oversight_history() -> Journey:
    j = Journey(load_protocol())
    j.to_phase("screening")
    j.send(
        PI,
        c.SignEligibility(
            occurred_at=j.now,
            decision="eligible",
            signature=c.SignatureAttestation(
                signer_id="petra",
                printed_name="Petra (Principal Investigator)",
                meaning="approval",
                components="id_and_password",
            ),
        ),
    )
    j.send(MONITOR, c.OpenQuery(occurred_at=j.now, target_seq=1, question="DOB per source?"))
    j.send(COORDINATOR, c.AnswerQuery(occurred_at=j.now, query_id="S-0001-Q1", answer="Checked"))
    j.send(MONITOR, c.CloseQuery(occurred_at=j.now, query_id="S-0001-Q1"))
    j.send(MONITOR, c.VerifySource(occurred_at=j.now, form="registration"))
    j.send(
        COORDINATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=1, field="sex", new_value="male", reason="typo"
        ),
    )
    return j


def test_odm_carries_signatures_queries_and_sdv_and_validates_against_the_xsd(
    sqlite_store: SqlEventStore,
) -> None:
    j = _oversight_history()
    sqlite_store.append(j.events)
    out = io.StringIO()
    export_odm(sqlite_store, out, created=datetime(2026, 1, 1, tzinfo=UTC))
    document = etree.fromstring(out.getvalue().encode("utf-8"))
    schema = etree.XMLSchema(etree.parse(str(ODM_XSD)))
    assert schema.validate(document), schema.error_log

    full_names = document.xpath(
        "//odm:AdminData/odm:User[odm:LoginName='petra']/odm:FullName/text()", namespaces=NS
    )
    assert full_names == ["Petra (Principal Investigator)"]
    meanings = document.xpath("//odm:AdminData/odm:SignatureDef/odm:Meaning/text()", namespaces=NS)
    assert set(meanings) == {"authorship", "review", "approval", "responsibility"}
    signatures = document.xpath("//odm:FormData/odm:Signature", namespaces=NS)
    signed_forms = [s.getparent().get("FormOID") for s in signatures]
    assert signed_forms == ["F.SCREENING_RECORDED", "F.ELIGIBILITY_SIGNED"]
    screening = next(e for e in j.events if e.type == "screening.recorded")
    manifests = document.xpath("//odm:Signature/odm:CryptoBindingManifest/text()", namespaces=NS)
    assert manifests[0] == f"sha256:{screening.hash}"
    refs = document.xpath("//odm:Signature/odm:SignatureRef/@SignatureOID", namespaces=NS)
    assert refs == ["SD.approval", "SD.approval"]

    registration = document.xpath(
        "//odm:FormData[@FormOID='F.SUBJECT_REGISTERED'][@TransactionType='Context']"
        "/odm:Annotation",
        namespaces=NS,
    )
    flags = [a.xpath("odm:Flag/odm:FlagValue/text()", namespaces=NS)[0] for a in registration]
    assert flags == ["open", "answered", "closed", "verified"]
    comments = [a.xpath("odm:Comment/@SponsorOrSite", namespaces=NS)[0] for a in registration]
    assert comments == ["Sponsor", "Site", "Sponsor", "Sponsor"]
    # The correction that changed verified data carries the reset.
    reset = document.xpath(
        "//odm:FormData[@FormOID='F.CORRECTION_RECORDED'][@TransactionType='Context']"
        "/odm:Annotation/odm:Flag/odm:FlagValue/text()",
        namespaces=NS,
    )
    assert reset == ["reset"]


def test_audit_verify_cli_names_a_signature_invalidated_by_a_changed_signed_event(
    sqlite_store: SqlEventStore,
) -> None:
    j = _oversight_history()
    sqlite_store.append(j.events)
    url = sqlite_store.url.render_as_string(hide_password=False)
    clean = CliRunner().invoke(app, ["audit", "verify", "--json", "--store-url", url])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["clean"] is True

    screening = next(e for e in j.events if e.type == "screening.recorded")
    signature = next(e for e in j.events if e.type == "signature.applied")
    rewrite(
        sqlite_store, "S-0001", screening.seq, lambda env: env["payload"].update(eligible=False)
    )
    broken = CliRunner().invoke(app, ["audit", "verify", "--json", "--store-url", url])
    assert broken.exit_code == 1
    problems = [f["problem"] for f in json.loads(broken.stdout)["findings"]]
    assert f"signature #{signature.seq} is invalid: event #{screening.seq}" in " ".join(problems)
