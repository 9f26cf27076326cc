"""The event store's PostgreSQL goes down while subjects are driven through the REST API with
client retries: afterwards every command is recorded exactly once, none is lost, every retry is
answered with the original result and the audit chain verifies.

The database is a private cluster started by the test (tests/faults/pgcluster.py), stopped for
OUTAGE_S seconds in the middle of the run and started again; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.events import verify_chain
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.domain.factories import eligible_record_json
from tests.faults.pgcluster import PrivateCluster, postgres_bin
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

SUBJECTS = 12
OUTAGE_S = 8.0
# A client gives up on one request after this long and sends it again with the same key.
CLIENT_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 0.5


@dataclass
class Figures:
    commands: int = 0
    attempts: int = 0
    retried_commands: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    client_timeouts: int = 0
    down_at: float = 0.0
    up_at: float = 0.0
    done_at: float = 0.0
    # command id -> (path, body, hashes of the events of the first successful answer)
    sent: dict[str, tuple[str, dict[str, Any], list[str]]] = field(default_factory=dict)


@pytest.fixture
def cluster() -> Any:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    made = PrivateCluster(bin_dir)
    made.start()
    try:
        yield made
    finally:
        made.destroy()


async def _send(
    http: httpx.AsyncClient, figures: Figures, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST until answered: a 202, 503 or a client timeout is retried with the same key."""
    key = str(uuid.uuid4())
    figures.commands += 1
    tries = 0
    while True:
        tries += 1
        figures.attempts += 1
        try:
            response = await http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TimeoutException:
            figures.client_timeouts += 1
            continue
        figures.answers[response.status_code] += 1
        if response.status_code in (202, 503):
            await asyncio.sleep(RETRY_PAUSE_S)
            continue
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        figures.retried_commands += tries > 1
        figures.sent[key] = (path, body, [e["hash"] for e in answer["events"]])
        return answer


async def _drive(
    http: httpx.AsyncClient, figures: Figures, subject_id: str, protocol: Protocol, pace: float
) -> None:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    await _send(
        http,
        figures,
        "/api/subjects",
        {
            "occurred_at": stamp,
            "subject_id": subject_id,
            "disease": "SLE",
            "sex": "female",
            "birth_date": "1980-06-15",
        },
    )
    await asyncio.sleep(pace)
    path = f"/api/subjects/{subject_id}/commands"
    await _send(
        http,
        figures,
        path,
        {
            "type": "sign_consent",
            "occurred_at": stamp,
            "consent_version": protocol.version,
            "signed_on": today,
            "childbearing_potential": True,
        },
    )
    await asyncio.sleep(pace)
    record = eligible_record_json("SLE", screening_date=today)
    await _send(
        http, figures, path, {"type": "record_screening", "occurred_at": stamp, "record": record}
    )


async def test_a_postgres_outage_loses_and_duplicates_nothing(
    dev_env: WorkflowEnvironment,
    cluster: PrivateCluster,
    task_queue: str,
    protocol: Protocol,
    users: UserDirectory,
    tmp_path: Path,
) -> None:
    store = SqlEventStore(cluster.url)
    figures = Figures()
    subjects = [f"S-PGF{i:02d}-{uuid.uuid4().hex[:4].upper()}" for i in range(SUBJECTS)]
    try:
        async with build_worker(dev_env.client, store, task_queue, tmp_path / "alerts.jsonl"):
            gateway = SubjectGateway(dev_env.client, task_queue, protocol, store=store, wait_s=2.0)
            app = create_app(gateway, store, users, session_secret="s", today=Clock())
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                auth=("cora", PASSWORDS["cora"]),
                timeout=CLIENT_TIMEOUT_S,
            ) as http:

                async def outage() -> None:
                    await asyncio.sleep(1.0)
                    await asyncio.to_thread(cluster.stop)
                    figures.down_at = time.monotonic()
                    await asyncio.sleep(OUTAGE_S)
                    await asyncio.to_thread(cluster.start)
                    figures.up_at = time.monotonic()

                drivers = [
                    _drive(http, figures, s, protocol, pace=0.3 + 0.1 * i)
                    for i, s in enumerate(subjects)
                ]
                await asyncio.wait_for(asyncio.gather(outage(), *drivers), timeout=300)
                figures.done_at = time.monotonic()

                # Every command sent again with its key: the original answer, nothing new.
                before = store.count_events()
                for key, (path, body, hashes) in figures.sent.items():
                    again = await http.post(path, json=body, headers={"Idempotency-Key": key})
                    assert again.status_code in (200, 201), again.text
                    assert [e["hash"] for e in again.json()["events"]] == hashes
                assert store.count_events() == before
            await terminate_subjects(dev_env.client, store)

        expected = ["subject.registered", "consent.signed", "screening.recorded"]
        for subject in subjects:
            events = store.read_stream(subject)
            assert [e.type for e in events] == expected, subject  # 0 lost, 0 duplicated
            assert verify_chain(subject, store.read_raw(subject)) is None
        for key in figures.sent:
            assert len(store.command_events(key)) == 1
        recovery = figures.done_at - figures.up_at
        print(
            f"\nPostgreSQL outage figures: subjects={SUBJECTS} commands={figures.commands} "
            f"attempts={figures.attempts} retried_commands={figures.retried_commands} "
            f"answers={dict(figures.answers)} client_timeouts={figures.client_timeouts} "
            f"outage_s={figures.up_at - figures.down_at:.1f} "
            f"last_answer_after_recovery_s={recovery:.1f} duplicates=0 lost=0 verify=clean"
        )
        assert figures.retried_commands > 0, "the outage hit no command; the test proves nothing"
    finally:
        store.close()
