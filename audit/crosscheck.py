"""Cross-check the event store against Temporal's own record of what the workflows wrote.

Every append goes through the ``append_events`` activity, whose input (the sealed events and
their hashes) Temporal keeps in the workflow's history, outside the event store and its
database. For every workflow history still held: each event of each *completed* append must be
in the store with the same hash, and each stored event of a stream whose histories are held must
appear in one. Payloads are decoded through the client's data converter, so a payload codec
(encryption) configured on the client is honoured.

What it cannot see: streams whose histories Temporal has already deleted (retention); those are
skipped and listed, as are the events of a stream older than its oldest retained history.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from activities.events import AppendBatch
from store.base import EventStore
from workflows.subject import workflow_id_for

__all__ = ["CrosscheckReport", "Discrepancy", "crosscheck", "history_appends"]

APPEND_ACTIVITY = "append_events"


class Discrepancy(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: str
    seq: int
    problem: str


class CrosscheckReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    histories_read: int
    events_compared: int
    discrepancies: tuple[Discrepancy, ...]
    # Streams in the store with no history left in Temporal, with the reason.
    skipped: dict[str, str]

    @property
    def clean(self) -> bool:
        return not self.discrepancies


async def history_appends(
    client: Client, events: Iterable[HistoryEvent]
) -> list[tuple[str, int, str]]:
    """(stream, seq, hash) of every event in a completed append_events activity."""
    history = list(events)
    completed = {
        e.activity_task_completed_event_attributes.scheduled_event_id
        for e in history
        if e.HasField("activity_task_completed_event_attributes")
    }
    found: list[tuple[str, int, str]] = []
    for event in history:
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name != APPEND_ACTIVITY or event.event_id not in completed:
            continue
        decoded = await client.data_converter.decode(scheduled.input.payloads, [AppendBatch])
        batch = decoded[0]
        if not isinstance(batch, AppendBatch):  # pragma: no cover (the type hint decides)
            batch = AppendBatch.model_validate(batch)
        found += [(e.stream, e.seq, e.hash) for e in batch.events]
    return found


async def _chain(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The latest run of a workflow and every run it continued from, while Temporal has them."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = None
    seen: set[str] = set()
    while True:
        try:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                break  # deleted by retention (or never existed)
            raise
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        previous = started.continued_execution_run_id
        if not previous or previous in seen:
            break
        seen.add(previous)
        run_id = previous
    return histories


async def _listed(client: Client) -> list[WorkflowHistory]:
    """Every run the namespace's visibility still lists (all workflow types)."""
    histories: list[WorkflowHistory] = []
    async for execution in client.list_workflows():
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        histories.append(await handle.fetch_history())
    return histories


async def crosscheck(
    client: Client, store: EventStore, subjects: Iterable[str] | None = None
) -> CrosscheckReport:
    """Compare the store with every retained history, or with those of ``subjects`` only."""
    if subjects is None:
        histories = await _listed(client)
        wanted = set(store.streams())
    else:
        wanted = set(subjects)
        histories = [h for s in sorted(wanted) for h in await _chain(client, workflow_id_for(s))]
    temporal: dict[str, dict[int, str]] = {}
    for history in histories:
        for stream, seq, digest in await history_appends(client, history.events):
            if subjects is None or stream in wanted:
                temporal.setdefault(stream, {})[seq] = digest
    problems: list[Discrepancy] = []
    skipped: dict[str, str] = {}
    compared = 0
    for stream in sorted(wanted | temporal.keys()):
        recorded = temporal.get(stream, {})
        stored = {e["seq"]: e["hash"] for e in store.read_raw(stream)}
        if not recorded:
            if not stored:
                continue
            skipped[stream] = (
                "no workflow history of this stream is left in Temporal (deleted by "
                "retention, or never written through a workflow): not compared"
            )
            continue
        oldest = min(recorded)
        if oldest > 1:
            skipped[stream] = (
                f"histories before seq {oldest} are no longer in Temporal (retention): "
                f"seq 1..{oldest - 1} not compared"
            )
        for seq in sorted(set(recorded) | {s for s in stored if s >= oldest}):
            compared += 1
            in_store, in_history = stored.get(seq), recorded.get(seq)
            if in_store is None:
                problems.append(
                    Discrepancy(
                        stream=stream,
                        seq=seq,
                        problem=f"in the Temporal history (hash {str(in_history)[:12]}…) but "
                        "not in the event store: deleted from the store",
                    )
                )
            elif in_history is None:
                problems.append(
                    Discrepancy(
                        stream=stream,
                        seq=seq,
                        problem=f"in the event store (hash {in_store[:12]}…) but in no "
                        "workflow history: written outside the workflows (forged)",
                    )
                )
            elif in_store != in_history:
                problems.append(
                    Discrepancy(
                        stream=stream,
                        seq=seq,
                        problem=f"the store holds hash {in_store[:12]}…, the workflow "
                        f"appended {in_history[:12]}…: the stored event was changed",
                    )
                )
    return CrosscheckReport(
        histories_read=len(histories),
        events_compared=compared,
        discrepancies=tuple(problems),
        skipped=skipped,
    )
