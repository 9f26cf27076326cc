"""Walk a workflow's chain of runs (continue-as-new) back from the latest, measuring each."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

__all__ = ["RunChain", "run_chain"]


@dataclass(frozen=True)
class RunChain:
    runs: int
    # Events and serialized bytes of the largest single run's history.
    largest_events: int
    largest_bytes: int


async def run_chain(client: Client, workflow_id: str) -> RunChain:
    runs = 0
    largest_events = largest_bytes = 0
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs += 1
        largest_events = max(largest_events, len(history.events))
        largest_bytes = max(largest_bytes, sum(e.ByteSize() for e in history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return RunChain(runs, largest_events, largest_bytes)
        run_id = started.continued_execution_run_id
