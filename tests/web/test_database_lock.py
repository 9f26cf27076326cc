"""The study-wide database lock: signed with a reason, then nothing but reads until unlocked."""

from __future__ import annotations

import httpx
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from tests.web.test_api import consent_body, now_iso
from web.app import create_app
from web.auth import UserDirectory


async def test_a_signed_database_lock_stops_every_write_until_its_recorded_unlock(
    time_env: WorkflowEnvironment,
    live_worker: None,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    users: UserDirectory,
    clock: Clock,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    await study.start()
    gated = SubjectGateway(time_env.client, task_queue, protocol, study.workflow_id)
    app = create_app(gated, sqlite_store, users, session_secret="s", today=clock, study=study)

    transport = httpx.ASGITransport(app=app)
    cora = httpx.AsyncClient(
        transport=transport, base_url="http://t", auth=("cora", PASSWORDS["cora"])
    )
    petra = httpx.AsyncClient(
        transport=transport, base_url="http://t", auth=("petra", PASSWORDS["petra"])
    )
    async with cora, petra:
        registered = await cora.post(
            "/api/subjects",
            json={
                "occurred_at": await now_iso(time_env),
                "subject_id": subject_id,
                "disease": "SLE",
                "sex": "female",
                "birth_date": "1980-06-15",
            },
        )
        assert registered.status_code == 201, registered.text

        unsigned = await petra.post("/api/study/database-lock", json={"reason": "final analysis"})
        assert unsigned.status_code == 422
        assert (
            await cora.post(
                "/api/study/database-lock",
                json={"reason": "x", "username": "cora", "password": PASSWORDS["cora"]},
            )
        ).status_code == 403
        locked = await petra.post(
            "/api/study/database-lock",
            json={"reason": "final analysis", "username": "petra", "password": PASSWORDS["petra"]},
        )
        assert locked.status_code == 200, locked.text
        assert locked.json()["database_locked"] is True
        study_events = sqlite_store.read_stream(study.workflow_id)
        lock, signature = study_events[-2:]
        assert (lock.type, lock.reason) == ("database.locked", "final analysis")
        assert signature.type == "signature.applied" and signature.prev_hash == lock.hash
        assert signature.payload.printed_name == "Petra (Principal Investigator)"  # type: ignore[union-attr]

        refused = await cora.post(
            f"/api/subjects/{subject_id}/commands", json=await consent_body(time_env, gated)
        )
        assert refused.status_code == 409
        assert "database is locked" in refused.json()["detail"]
        assert (await cora.get(f"/api/subjects/{subject_id}/events")).status_code == 200
        assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]

        unlocked = await petra.post("/api/study/database-unlock", json={"reason": "late SAE"})
        assert unlocked.status_code == 200, unlocked.text
        assert sqlite_store.read_stream(study.workflow_id)[-1].type == "database.unlocked"
        consent = await cora.post(
            f"/api/subjects/{subject_id}/commands", json=await consent_body(time_env, gated)
        )
        assert consent.status_code == 200, consent.text
