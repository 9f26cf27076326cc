"""The Temporal server is killed (SIGKILL) and started again on its own database while subjects
are driven through the REST API with client retries: nothing lost, nothing duplicated, retries
answered with the original events, chains verify."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.temporal import connect, temporal_binary, wait_for_port
from tests.cleanup import terminate_subjects
from tests.faults.driving import Figures, check_exactly_once, drive, resend_all
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

SUBJECTS = 10
DOWN_S = 4.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`temporal server start-dev` on a SQLite file of the test's own, so a restart keeps state."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.args = [
            temporal_binary(), "server", "start-dev", "--headless",
            "--db-filename", str(root / "temporal.db"),
            "--ip", "127.0.0.1", "--port", str(self.port), "--log-level", "error",
        ]  # fmt: skip
        self.log = root / "temporal.log"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        await wait_for_port("127.0.0.1", self.port, timeout=60)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def test_a_temporal_restart_loses_and_duplicates_nothing(
    protocol: Protocol, users: UserDirectory, tmp_path: Path, task_queue: str
) -> None:
    server = Server(tmp_path)
    await server.start()
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    figures = Figures()
    subjects = [f"S-TMF{i:02d}-{uuid.uuid4().hex[:4].upper()}" for i in range(SUBJECTS)]
    try:
        client = await connect(f"127.0.0.1:{server.port}")
        async with build_worker(client, store, task_queue, tmp_path / "alerts.jsonl"):
            gateway = SubjectGateway(client, task_queue, protocol, store=store, wait_s=2.0)
            app = create_app(gateway, store, users, session_secret="s", today=Clock())
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                auth=("cora", PASSWORDS["cora"]),
                timeout=15.0,
            ) as http:

                async def restart() -> None:
                    await asyncio.sleep(1.5)
                    server.kill()
                    down = time.monotonic()
                    figures.faults += 1
                    await asyncio.sleep(DOWN_S)
                    await server.start()
                    figures.recovered_at = time.monotonic()
                    figures.fault_s = figures.recovered_at - down

                drivers = [
                    drive(http, figures, s, protocol, pace=0.4 + 0.15 * i)
                    for i, s in enumerate(subjects)
                ]
                await asyncio.wait_for(asyncio.gather(restart(), *drivers), timeout=300)
                figures.done_at = time.monotonic()
                await resend_all(http, figures, store)
            await terminate_subjects(client, store)
        check_exactly_once(store, figures, subjects)
        print("\n" + figures.line("Temporal restart figures", SUBJECTS))
    finally:
        store.close()
        server.stop()
