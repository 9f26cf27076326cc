"""Drive subjects through the REST API as a retrying client would, and check the outcome.

Shared by the fault tests: each command gets its own Idempotency-Key; a 202, a 503 or a client
timeout is answered by sending the same request again with the same key, until it is answered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain.events import verify_chain
from domain.protocol import Protocol
from store.sql import SqlEventStore
from tests.domain.factories import eligible_record_json

__all__ = ["EXPECTED", "Figures", "check_exactly_once", "drive", "resend_all"]

EXPECTED = ["subject.registered", "consent.signed", "screening.recorded"]
RETRY_PAUSE_S = 0.5


@dataclass
class Figures:
    commands: int = 0
    attempts: int = 0
    retried_commands: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    client_timeouts: int = 0
    faults: int = 0
    fault_s: float = 0.0
    recovered_at: float = 0.0
    done_at: float = 0.0
    # command id -> (path, body, hashes of the events of the first successful answer)
    sent: dict[str, tuple[str, dict[str, Any], list[str]]] = field(default_factory=dict)

    def line(self, title: str, subjects: int) -> str:
        return (
            f"{title}: subjects={subjects} commands={self.commands} attempts={self.attempts} "
            f"retried_commands={self.retried_commands} answers={dict(self.answers)} "
            f"client_timeouts={self.client_timeouts} faults={self.faults} "
            f"fault_s={self.fault_s:.1f} "
            f"last_answer_after_recovery_s={self.done_at - self.recovered_at:.1f} "
            "duplicates=0 lost=0 verify=clean"
        )


async def send(
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


async def drive(
    http: httpx.AsyncClient, figures: Figures, subject_id: str, protocol: Protocol, pace: float
) -> None:
    """Register, consent and screen one subject, ``pace`` seconds apart."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    register = {
        "occurred_at": stamp,
        "subject_id": subject_id,
        "disease": "SLE",
        "sex": "female",
        "birth_date": "1980-06-15",
    }
    await send(http, figures, "/api/subjects", register)
    await asyncio.sleep(pace)
    path = f"/api/subjects/{subject_id}/commands"
    consent = {
        "type": "sign_consent",
        "occurred_at": stamp,
        "consent_version": protocol.version,
        "signed_on": today,
        "childbearing_potential": True,
    }
    await send(http, figures, path, consent)
    await asyncio.sleep(pace)
    record = eligible_record_json("SLE", screening_date=today)
    screening = {"type": "record_screening", "occurred_at": stamp, "record": record}
    await send(http, figures, path, screening)


async def resend_all(http: httpx.AsyncClient, figures: Figures, store: SqlEventStore) -> None:
    """Every command again with its key: the original events come back, nothing new is stored."""
    before = store.count_events()
    for key, (path, body, hashes) in figures.sent.items():
        again = await http.post(path, json=body, headers={"Idempotency-Key": key})
        assert again.status_code in (200, 201), again.text
        assert [e["hash"] for e in again.json()["events"]] == hashes
    assert store.count_events() == before


def check_exactly_once(store: SqlEventStore, figures: Figures, subjects: list[str]) -> None:
    for subject in subjects:
        events = store.read_stream(subject)
        assert [e.type for e in events] == EXPECTED, subject  # 0 lost, 0 duplicated
        assert verify_chain(subject, store.read_raw(subject)) is None
    for key in figures.sent:
        assert len(store.command_events(key)) == 1
    assert figures.retried_commands > 0, "the fault hit no command; the test proves nothing"
