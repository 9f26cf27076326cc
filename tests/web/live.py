"""A real uvicorn server in a background thread, wired to a worker on the test's Temporal."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import uvicorn
from temporalio.client import Client

from domain.protocol import Protocol
from store.base import EventStore
from system.codec import default_data_converter
from system.gateway import StudyGateway, SubjectGateway
from web.app import create_app
from web.auth import UserDirectory

ROOT = Path(__file__).resolve().parents[2]
USERS_FILE = ROOT / "config" / "users.toml"
PASSWORDS = {
    "cora": "cora-demo-2024",
    "ivan": "ivan-demo-2024",
    "petra": "petra-demo-2024",
    "mona": "mona-demo-2024",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """Serves create_app(...) with uvicorn on its own thread and event loop.

    The Temporal client is bound to an event loop, so the server connects its own client (to
    the same test server) inside its thread rather than sharing the test's.
    """

    def __init__(
        self,
        target_host: str,
        task_queue: str,
        protocol: Protocol,
        store: EventStore,
        users: UserDirectory,
        today: Callable[[], date],
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = (target_host, task_queue, protocol, store, users, today)
        self._server: uvicorn.Server | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced in start()
            self._error = exc
            self._started.set()

    async def _serve(self) -> None:
        target_host, task_queue, protocol, store, users, today = self._args
        client = await Client.connect(target_host, data_converter=default_data_converter())
        app = create_app(
            SubjectGateway(client, task_queue, protocol, store=store),
            store,
            users,
            today=today,
            study=StudyGateway(client, task_queue, protocol),
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        serving = asyncio.create_task(self._server.serve())
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.05)
        self._started.set()
        await serving

    def start(self) -> LiveServer:
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise RuntimeError("live server failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)
