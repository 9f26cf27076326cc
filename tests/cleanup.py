"""End the workflows a test started, so the shared time-skipping clock can keep moving."""

from __future__ import annotations

import contextlib

from temporalio.client import Client
from temporalio.service import RPCError

from store.base import EventStore
from workflows.subject import workflow_id_for

__all__ = ["terminate_subjects"]


async def terminate_subjects(client: Client, store: EventStore) -> None:
    """Terminate every subject workflow whose stream is in ``store``, while its worker runs.

    The session-wide time-skipping server does not skip time while any workflow has a task
    that no worker polls for; a subject left waiting on a timer by a finished test would make
    the next test's ``env.sleep`` time out.
    """
    for stream in store.streams():
        handle = client.get_workflow_handle(workflow_id_for(stream))
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")
