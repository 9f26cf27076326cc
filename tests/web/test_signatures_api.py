"""Part 11 signatures through the API: password re-entry, printed name and meaning, binding."""

from __future__ import annotations

from typing import Any

from temporalio.testing import WorkflowEnvironment

from audit.signatures import verify_signatures
from audit.verify import verify_store
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.audit.tamper import rewrite
from tests.domain.factories import eligible_record_json
from tests.web.conftest import ClientFor
from tests.web.test_api import consent_body, now_iso, registered


async def _screened(
    client_for: ClientFor, env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    await registered(client_for, env, subject_id)
    cora = client_for("cora")
    consent = await cora.post(
        f"/api/subjects/{subject_id}/commands", json=await consent_body(env, gateway)
    )
    assert consent.status_code == 200, consent.text
    today = (await env.get_current_time()).date()
    screening = await cora.post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "record_screening",
            "occurred_at": await now_iso(env),
            "record": eligible_record_json("SLE", screening_date=today),
        },
    )
    assert screening.status_code == 200, screening.text


async def _sign_body(env: WorkflowEnvironment, password: str, **extra: Any) -> dict[str, Any]:
    command = {
        "type": "sign_eligibility",
        "occurred_at": await now_iso(env),
        "decision": "eligible",
    }
    return {"command": command, "username": "petra", "password": password, **extra}


async def test_eligibility_cannot_be_signed_without_the_password_re_entered(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    await _screened(client_for, time_env, gateway, subject_id)
    petra = client_for("petra")
    plain = await petra.post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "sign_eligibility",
            "occurred_at": await now_iso(time_env),
            "decision": "eligible",
        },
    )
    assert plain.status_code == 422
    assert plain.json()["detail"][0]["rule"] == "signature_refused"
    wrong = await petra.post(
        f"/api/subjects/{subject_id}/signatures", json=await _sign_body(time_env, "guess")
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["field"] == "signature_password"
    # A forged attestation in the body is not a way around the password.
    forged = await petra.post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "sign_eligibility",
            "occurred_at": await now_iso(time_env),
            "decision": "eligible",
            "signature": {
                "signer_id": "petra",
                "printed_name": "Petra",
                "meaning": "approval",
                "components": "password",
            },
        },
    )
    assert forged.status_code == 422
    assert [e.type for e in sqlite_store.read_stream(subject_id)][-1] == "screening.recorded"


async def test_a_signature_shows_name_time_meaning_and_is_bound_to_the_signed_hashes(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    await _screened(client_for, time_env, gateway, subject_id)
    signed = await client_for("petra").post(
        f"/api/subjects/{subject_id}/signatures",
        json=await _sign_body(time_env, "petra-demo-2024", meaning="approval"),
    )
    assert signed.status_code == 200, signed.text
    decision, signature = signed.json()["events"]
    assert (decision["type"], signature["type"]) == ("eligibility.signed", "signature.applied")
    payload = signature["payload"]
    assert payload["printed_name"] == "Petra (Principal Investigator)"
    assert (payload["meaning"], payload["components"]) == ("approval", "id_and_password")
    assert signature["recorded_at"] and signature["actor"]["user_id"] == "petra"
    screening = next(e for e in sqlite_store.read_stream(subject_id) if e.seq == 3)
    assert [(r["seq"], r["hash"]) for r in payload["signed"]] == [
        (3, screening.hash),
        (decision["seq"], None),
    ]
    assert verify_signatures(sqlite_store, subject_id) == []

    # Someone with database access changes the signed screening data.
    rewrite(sqlite_store, subject_id, 3, lambda env: env["payload"].update(eligible=False))
    problems = verify_signatures(sqlite_store, subject_id)
    assert [(p.seq, p.signed_seq) for p in problems] == [(signature["seq"], 3)]
    assert "changed after signing" in problems[0].problem
    assert not verify_store(sqlite_store, subject_id).clean
