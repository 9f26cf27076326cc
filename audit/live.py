"""Reach the live SubjectWorkflows: connect to the configured Temporal and query a state."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from domain.protocol import load_protocol
from domain.state import SubjectState
from system.config import Settings
from system.gateway import SubjectGateway
from system.temporal import connect

__all__ = ["TemporalUnavailable", "connect_temporal", "live_state", "temporal_target"]

# Long enough for a loaded server, short enough that an auditor is not left staring at nothing.
CONNECT_TIMEOUT = 10.0
QUERY_TIMEOUT = 15.0


class TemporalUnavailable(Exception):
    """Temporal could not be reached, or no worker answered for the workflow."""


def temporal_target(settings: Settings) -> str:
    """The configured address, or where the embedded dev server listens when none is set."""
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


async def connect_temporal(settings: Settings) -> Client:
    address = temporal_target(settings)
    try:
        return await asyncio.wait_for(
            connect(address, settings.temporal_namespace), timeout=CONNECT_TIMEOUT
        )
    except (TimeoutError, RuntimeError, OSError) as exc:
        raise TemporalUnavailable(
            f"Temporal is not reachable at {address} (namespace "
            f"{settings.temporal_namespace!r}): {exc or type(exc).__name__}"
        ) from exc


async def live_state(client: Client, task_queue: str, subject_id: str) -> SubjectState:
    """The state the subject's workflow reports now, through the same gateway the API uses."""
    gateway = SubjectGateway(client, task_queue, load_protocol())
    try:
        return await asyncio.wait_for(gateway.state(subject_id), timeout=QUERY_TIMEOUT)
    except TimeoutError as exc:
        raise TemporalUnavailable(
            f"no worker answered the state query for subject {subject_id} within "
            f"{QUERY_TIMEOUT:.0f}s (is the worker running on task queue {task_queue!r}?)"
        ) from exc
