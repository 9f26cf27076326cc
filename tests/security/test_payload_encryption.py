"""PHI encrypted in Temporal: histories on a real server hold ciphertext only, old clear
histories still replay, rotated keys still decode, and the UI's codec endpoint is guarded."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain import commands as c
from domain.actors import Actor, Role
from domain.protocol import Protocol
from domain.signing import Keyring
from store.security import SecurityStore
from store.sql import SqlEventStore
from system.codec import EncryptionCodec, PayloadKeyError, default_data_converter
from system.gateway import SubjectGateway
from tests.web.live import PASSWORDS, USERS_FILE
from tests.workflows.harness import COORDINATOR, new_subject
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker
from workflows.subject import SubjectWorkflow, workflow_id_for

HISTORIES = Path(__file__).parents[1] / "histories"
BIRTH = date(1957, 3, 21)
OLD = Keyring(active="p1", keys={"p1": secrets.token_bytes(32)})
ROTATED = Keyring(active="p2", keys={**OLD.keys, "p2": secrets.token_bytes(32)})


async def _payload(text: str) -> Payload:
    return (await pydantic_data_converter.encode([text]))[0]


async def test_a_rotated_keyring_still_decodes_payloads_of_the_old_key() -> None:
    clear = await _payload("birth_date 1957-03-21")
    old_cipher = (await EncryptionCodec(OLD).encode([clear]))[0]

    rotated = EncryptionCodec(ROTATED)
    assert await rotated.decode([old_cipher]) == [clear]
    new_cipher = (await rotated.encode([clear]))[0]
    assert new_cipher.metadata["encryption-key-id"] == b"p2"
    assert b"1957" not in new_cipher.SerializeToString()
    with pytest.raises(PayloadKeyError, match="unknown key 'p2'"):
        await EncryptionCodec(OLD).decode([new_cipher])


async def test_altered_ciphertext_is_refused_and_clear_payloads_pass_through() -> None:
    clear = await _payload("x")
    cipher = (await EncryptionCodec(OLD).encode([clear]))[0]
    cipher.data = cipher.data[:-1] + bytes([cipher.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await EncryptionCodec(OLD).decode([cipher])
    assert await EncryptionCodec(OLD).decode([clear]) == [clear]


@pytest.mark.parametrize(
    "name", ["subject_full_lifecycle.json", "subject_pre_safety_full_lifecycle.json"]
)
async def test_histories_from_before_encryption_replay_with_the_encrypting_converter(
    name: str,
) -> None:
    history = WorkflowHistory.from_json(name, (HISTORIES / name).read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[SubjectWorkflow], data_converter=default_data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


@pytest.mark.devserver
async def test_a_history_on_the_real_server_holds_no_clear_text_phi(
    dev_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    short_protocol: Protocol,
) -> None:
    subject = new_subject()
    async with build_worker(dev_env.client, sqlite_store, task_queue):
        gateway = SubjectGateway(dev_env.client, task_queue, short_protocol)
        now = datetime.now(UTC)
        await gateway.register(
            c.RegisterSubject(
                occurred_at=now, subject_id=subject, disease="SLE", sex="female", birth_date=BIRTH
            ),
            COORDINATOR,
        )
        # Refused by the domain: its failure message travels encrypted too.
        with pytest.raises(Exception, match="cannot sign eligibility"):
            await gateway.submit(
                subject,
                c.SignEligibility(occurred_at=now, decision="eligible"),
                Actor(user_id="petra", role=Role.PI),
            )
        handle = dev_env.client.get_workflow_handle(workflow_id_for(subject))
        history = await handle.fetch_history()
        await handle.terminate("test finished")

    raw = b"".join(event.SerializeToString() for event in history.events)
    for clear in (BIRTH.isoformat().encode(), b"birth_date", b"female", b"cannot sign"):
        assert clear not in raw, clear
    assert b"binary/encrypted" in raw
    assert subject.encode() in raw  # the id is a pseudonym, the one thing left readable
    # And the stored event itself is whole: encryption is only on the way through Temporal.
    assert sqlite_store.read_stream(subject)[0].payload.birth_date == BIRTH  # type: ignore[union-attr]
    replayer = Replayer(workflows=[SubjectWorkflow], data_converter=default_data_converter())
    assert (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None


async def test_the_codec_endpoint_decodes_for_staff_only_and_answers_the_ui_origin(
    sqlite_store: SqlEventStore,
) -> None:
    codec = EncryptionCodec(OLD)
    app = create_app(
        None,  # type: ignore[arg-type]  # the codec never reaches Temporal
        sqlite_store,
        UserDirectory.load(USERS_FILE),
        session_secret="s",
        security=SecurityStore(),
        codec=codec,
        codec_origins=("http://127.0.0.1:8233",),
    )
    clear = await _payload(f"born {BIRTH}")
    cipher = (await codec.encode([clear]))[0]
    body = json_format.MessageToJson(Payloads(payloads=[cipher]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        anonymous = await client.post("/codec/decode", content=body)
        ui = {"Origin": "http://127.0.0.1:8233"}
        preflight = await client.options("/codec/decode", headers=ui)
        evil = await client.options("/codec/decode", headers={"Origin": "http://evil.example"})
        decoded = await client.post(
            "/codec/decode", content=body, headers=ui, auth=("mona", PASSWORDS["mona"])
        )
        encode_as_monitor = await client.post(
            "/codec/encode", content=body, auth=("mona", PASSWORDS["mona"])
        )

    assert anonymous.status_code == 401
    assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in evil.headers
    assert decoded.status_code == 200
    assert decoded.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
    payload = json_format.Parse(decoded.text, Payloads()).payloads[0]
    assert json.loads(payload.data) == f"born {BIRTH}"
    assert encode_as_monitor.status_code == 403
