"""The floor the benchmarks compare against: a bare workflow on the same Temporal.

``BareWorkflow`` takes the same ``submit`` update argument as ``SubjectWorkflow`` and, per
update, runs one activity that INSERTs one row per event into a table (SQLite or PostgreSQL),
nothing else: no domain decision, no hash chain, no board. Given a list of timer due times it
also sleeps until each and runs the same activity, as the subject's deadline timers do.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import Engine, text

    from domain.commands import Submission
    from store.engine import create_store_engine

__all__ = ["BareActivities", "BareInput", "BareRows", "BareWorkflow"]


class BareInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    # Protocol-time moments the subject's timers fire at; each runs one activity.
    timers: tuple[datetime, ...] = ()
    # Events written per timer / per update, so the activity inputs weigh what the real ones do.
    rows_per_timer: tuple[int, ...] = ()
    # How many updates to expect before the workflow may end (0: run until terminated).
    updates: int = 0
    # Alerts the real workflow sent after each update / timer: one more activity each.
    alerts_per_update: tuple[int, ...] = ()
    alerts_per_timer: tuple[int, ...] = ()


class BareRows(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    count: int
    body: str


@workflow.defn
class BareWorkflow:
    @workflow.init
    def __init__(self, input: BareInput) -> None:
        self._input = input
        self._updates = 0
        self._seq = 0

    @workflow.run
    async def run(self, input: BareInput) -> int:
        for number, due in enumerate(input.timers):
            delay = (due - workflow.now()).total_seconds()
            if delay > 0:
                await workflow.sleep(delay)
            rows = input.rows_per_timer[number] if number < len(input.rows_per_timer) else 1
            await self._insert(rows, "timer")
            await self._alerts(input.alerts_per_timer, number)
        await workflow.wait_condition(
            lambda: (
                input.updates > 0
                and self._updates >= input.updates
                and workflow.all_handlers_finished()
            )
        )
        return self._updates

    async def _insert(self, count: int, body: str) -> None:
        await workflow.execute_activity_method(
            BareActivities.bare_insert,
            BareRows(subject_id=self._input.subject_id, count=count, body=body),
            start_to_close_timeout=timedelta(seconds=30),
        )

    async def _alerts(self, counts: tuple[int, ...], number: int) -> None:
        for _ in range(counts[number] if number < len(counts) else 0):
            await self._insert(1, "alert")

    @workflow.update
    async def submit(self, submission: Submission) -> int:
        number = self._updates
        self._updates += 1
        await self._insert(1, submission.command.model_dump_json())
        await self._alerts(self._input.alerts_per_update, number)
        return self._updates


class BareActivities:
    """One INSERT per row into ``bare_events`` (created on first use)."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_store_engine(url)
        self._lock = threading.Lock()
        self._ready = False

    def _insert(self, rows: BareRows) -> None:
        with self._lock:
            if not self._ready:
                with self._engine.begin() as conn:
                    conn.execute(
                        text(
                            "CREATE TABLE IF NOT EXISTS bare_events "
                            "(subject_id VARCHAR(100), body TEXT)"
                        )
                    )
                self._ready = True
        with self._engine.begin() as conn:
            conn.execute(
                text("INSERT INTO bare_events (subject_id, body) VALUES (:s, :b)"),
                [{"s": rows.subject_id, "b": rows.body} for _ in range(rows.count)],
            )

    @activity.defn(name="bare_insert")
    async def bare_insert(self, rows: BareRows) -> int:
        await asyncio.to_thread(self._insert, rows)
        return rows.count
