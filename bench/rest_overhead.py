"""Benchmark: what the web process spends per REST command beyond the gateway call.

    python bench/rest_overhead.py [--clients 1,10,50] [--rounds 5] [--requests 2000]

The production app (``web.app.create_app``: the app ``web.main`` serves) with the
gateway replaced by a stub that answers a correction with a canned ``SubmitResult`` after
``--latency`` ms (as Temporal would, without its CPU). Requests are ASGI calls in this process
(no sockets, no HTTP parsing: uvicorn's share is the same for any app), ``--clients`` at a
time, a bearer token made as ``trial user token`` makes one. The figure is CPU time of the
whole process (every thread) per request; the baseline is the same number of stub calls made
directly, as ``SubjectGateway.submit`` is called by the gateway path of
``rest_vs_gateway.py``. Rounds interleave the two; min and median are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import uvloop
from corrections import correction

from domain import commands as c
from domain.actors import Actor, Role
from domain.event_envelope import NewEvent
from domain.events import Event, seal
from domain.protocol import load_protocol
from domain.summary import SubjectSummary
from domain.values import Phase
from domain.visit_events import CorrectionRecorded
from store.security import SecurityStore
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.users import UserDirectory
from web.app import create_app
from workflows.subject import SubmitResult

ROOT = Path(__file__).resolve().parents[1]
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)
SUBJECT = "S-BENCH"


def _result(command: c.RecordCorrection, actor: Actor, command_id: str | None) -> SubmitResult:
    payload = CorrectionRecorded(
        target_seq=command.target_seq,
        field=command.field,
        old_value="female",
        new_value=command.new_value,
    )
    events: list[Event] = seal(
        [NewEvent(payload=payload, occurred_at=command.occurred_at, reason=command.reason)],
        stream=SUBJECT,
        last_seq=41,
        last_hash="0" * 64,
        actor=actor,
        recorded_at=datetime.now(UTC),
        protocol_version="1.0",
        command_id=command_id,
    )
    summary = SubjectSummary(
        subject_id=SUBJECT,
        phase=Phase.SCREENING,
        protocol_version="1.0",
        disease="SLE",
        last_seq=42,
        last_hash=events[-1].hash,
    )
    return SubmitResult(events=tuple(events), summary=summary, command_id=command_id)


class StubGateway:
    """Answers every correction as the workflow would, after ``latency_s``, with no CPU of its
    own beyond building the answer."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.protocol = load_protocol()
        self.calls = 0
        self._answer: SubmitResult | None = None

    async def submit(
        self, subject_id: str, command: c.Command, actor: Actor, command_id: str | None = None
    ) -> SubmitResult:
        self.calls += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        assert isinstance(command, c.RecordCorrection)
        # The answer's content does not depend on the call; built once, as a real one is
        # built once (by the converter) per call in the gateway path too.
        if self._answer is None:
            self._answer = _result(command, actor, command_id)
        return self._answer


def _asgi_post(
    app: Any, path: str, headers: list[tuple[bytes, bytes]]
) -> Callable[[bytes], Awaitable[int]]:
    async def post(body: bytes) -> int:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return post


async def _cell(send: Callable[[int], Awaitable[None]], clients: int, total: int) -> float:
    """CPU seconds of the whole process per request."""
    per_client = max(1, total // clients)
    started = time.process_time()

    async def loop(i: int) -> None:
        for _ in range(per_client):
            await send(i)

    await asyncio.gather(*(loop(i) for i in range(clients)))
    return (time.process_time() - started) / (per_client * clients)


async def _lifespan(app: Any) -> Callable[[], Awaitable[None]]:
    """Runs the app's lifespan start-up; returns what ends it."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    )
    await queue.put({"type": "lifespan.startup"})
    await started.wait()

    async def stop() -> None:
        await queue.put({"type": "lifespan.shutdown"})
        await task

    return stop


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per cell")
    parser.add_argument("--latency", type=float, default=5.0, help="stub answer delay, ms")
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="jy231-bench-overhead-"))
    store = SqlEventStore(f"sqlite:///{tmp / 'events.db'}")
    security = SecurityStore(f"sqlite:///{tmp / 'security.db'}")
    token = security.create_token("ivan", "investigator", "benchmark")
    users = UserDirectory.load(ROOT / "config" / "users.toml")
    stub = StubGateway(args.latency / 1000)
    # What web.main serves: create_app's app is the one build_app gives its context at start-up.
    app = create_app(cast(SubjectGateway, stub), store, users, security=security)
    stop = await _lifespan(app)
    app_ctx = _ctx(app)
    app_ctx.known_subjects.add(SUBJECT)

    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"accept", b"*/*"),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    post = _asgi_post(app, f"/api/subjects/{SUBJECT}/commands", headers)
    flip = [False]

    def next_value() -> str:
        flip[0] = not flip[0]
        return "male" if flip[0] else "female"

    async def rest(_: int) -> None:
        body = json.dumps(correction(next_value()).model_dump(mode="json")).encode()
        status = await post(body)
        if status != 200:
            raise RuntimeError(f"REST {status}")

    async def direct(_: int) -> None:
        await stub.submit(SUBJECT, correction(next_value()), INVESTIGATOR, str(uuid.uuid4()))

    named = {"direct": direct, "rest": rest}
    for send in named.values():
        for _ in range(20):
            await send(0)
    results: dict[tuple[int, str], list[float]] = {}
    for number in range(args.rounds):
        for clients in levels:
            order = list(named) if number % 2 == 0 else list(reversed(named))
            for name in order:
                cpu = await _cell(named[name], clients, args.requests)
                results.setdefault((clients, name), []).append(cpu)
    await stop()
    security.close()
    store.close()

    print(
        f"web stack CPU per command (ms, whole process), stub gateway answering after "
        f"{args.latency:g} ms; {args.rounds} interleaved rounds, min/median"
    )
    print(f"{'clients':>7} {'direct':>13} {'rest':>13} {'rest-direct':>13}")
    for clients in levels:
        d = [x * 1000 for x in results[(clients, "direct")]]
        r = [x * 1000 for x in results[(clients, "rest")]]
        diff = [b - a for a, b in zip(d, r, strict=True)]
        print(
            f"{clients:>7} {min(d):6.3f}/{statistics.median(d):<6.3f} "
            f"{min(r):6.3f}/{statistics.median(r):<6.3f} "
            f"{min(diff):6.3f}/{statistics.median(diff):<6.3f}"
        )


def _ctx(app: Any) -> Any:
    """The inner app's context, wherever assembly put it."""
    state = getattr(app.state, "ctx", None)
    if state is not None:
        return state
    for route in app.routes:
        inner = getattr(route, "app", None)
        ctx = getattr(getattr(inner, "state", None), "ctx", None)
        if ctx is not None:
            return ctx
    raise RuntimeError("no AppContext found on the app")


if __name__ == "__main__":
    # The loop uvicorn runs the app on.
    uvloop.run(main())
