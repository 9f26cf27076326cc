"""`make run`: the embedded Temporal dev server (if needed), the worker and the web app.

Children are plain subprocesses so each can be stopped on its own; one that dies is restarted
with backoff (system/supervisor.py). Ctrl-C or SIGTERM stops them all, web first (no new
commands), then the worker, then Temporal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import structlog

from audit.checkpoint import checkpoint_config, create_demo_key
from system.config import Settings, load_settings
from system.keys import ensure_dev_key_file
from system.logging import configure_logging
from system.supervisor import Supervised
from system.temporal import dev_server, wait_for_port

__all__ = ["main", "run"]

log = structlog.get_logger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def _banner(settings: Settings, address: str, embedded: bool) -> str:
    web = f"http://{settings.web_host}:{settings.web_port}"
    lines = [
        "",
        "JY231 orchestrator (NCT06243159) is running",
        f"  Temporal          {address}" + (" (embedded dev server)" if embedded else ""),
    ]
    if embedded:
        lines.append(f"  Temporal UI       http://127.0.0.1:{settings.temporal_ui_port}")
    lines += [
        f"  Dashboard         {web}",
        "  Study gating      "
        + (
            "on: dose-level slots (3+3, sentinel staggering) gate lymphodepletion"
            if settings.study_gating
            else "off (JY231_STUDY_GATING=0): subjects are not gated by cohorts"
        ),
        f"  API docs          {web}/docs",
        "  Demo logins       cora / cora-demo-2024 (coordinator)",
        "                    ivan / ivan-demo-2024 (investigator)",
        "                    petra / petra-demo-2024 (PI)",
        "                    mona / mona-demo-2024 (monitor, read-only)",
        "  CLI               JY231_USER=cora JY231_PASSWORD=cora-demo-2024 trial board",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


async def _offer_demo(settings: Settings) -> None:
    """An empty trial is seeded when JY231_DEMO=1, else the banner's last line says how."""
    from cli.demo import seed

    url = f"http://{settings.web_host}:{settings.web_port}"
    if os.environ.get("JY231_DEMO", "").strip() not in {"1", "true", "yes", "on"}:
        print("  Empty trial? `trial demo seed` (or JY231_DEMO=1 make run) adds a demo cohort.")
        return
    try:
        seeded = await asyncio.to_thread(seed, url, None, lambda line: log.info(line))
    except Exception as exc:  # a failed demo (typer.Exit included) must not stop the services
        log.error("demo seed failed", error=repr(exc))
        return
    log.info("demo cohort ready", seeded=len(seeded))


def _demo_checkpoint_key(settings: Settings) -> str:
    """Create the demo checkpoint signing key under .data/ when none is configured, and say so."""
    config = checkpoint_config(settings.data_dir)
    if config.key_env is not None:
        return "  Checkpoint key    from JY231_CHECKPOINT_KEY"
    if create_demo_key(config.key_file):
        log.warning(
            "created a DEMO checkpoint signing key; use a key kept away from the database "
            "in production (JY231_CHECKPOINT_KEY_FILE)",
            key=str(config.key_file),
            public_key=str(config.key_file.with_suffix(".pub")),
        )
        return f"  Checkpoint key    {config.key_file} (DEMO key, created now)"
    return f"  Checkpoint key    {config.key_file}"


async def run(settings: Settings, stop: asyncio.Event) -> int:
    embedded = settings.temporal_address is None
    written = ensure_dev_key_file(settings)
    if written is not None:
        # Said loudly: these keys sign submissions and encrypt payloads on this machine only.
        log.warning("wrote development keys; use real ones in production", path=str(written))
    key_line = _demo_checkpoint_key(settings)
    async with contextlib.AsyncExitStack() as stack:
        if embedded:
            address = await stack.enter_async_context(
                dev_server(
                    settings.data_dir,
                    settings.temporal_port,
                    settings.temporal_ui_port,
                    codec_endpoint=f"http://{settings.web_host}:{settings.web_port}/codec",
                )
            )
        else:
            address = str(settings.temporal_address)
        env = {**os.environ, "TEMPORAL_ADDRESS": address}
        if embedded:
            # The embedded dev server registers the trial's search attributes at start.
            env.setdefault("JY231_SEARCH_ATTRIBUTES", "1")
        children = [
            Supervised("worker", [sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT),
            Supervised(
                "web",
                [
                    sys.executable, "-m", "uvicorn", "web.main:app",
                    "--host", settings.web_host, "--port", str(settings.web_port),
                    "--log-level", "warning",
                ],
                env=env,
                cwd=ROOT,
            ),
        ]  # fmt: skip
        try:
            for child in children:
                child.start()
            await wait_for_port(settings.web_host, settings.web_port, timeout=60)
            print(_banner(settings, address, embedded) + key_line + "\n", flush=True)
            await _offer_demo(settings)
            while not stop.is_set():
                # A dead worker or web app is restarted with backoff, not the whole stack.
                for child in children:
                    child.check()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            return 0
        finally:
            for child in reversed(children):
                child.stop()
            log.info("stopped", children=[child.name for child in children])


async def _main() -> int:
    settings = load_settings()
    configure_logging(settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run(settings, stop)


def main() -> None:
    sys.exit(asyncio.run(_main()))


if __name__ == "__main__":
    main()
