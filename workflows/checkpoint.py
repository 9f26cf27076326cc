"""CheckpointWorkflow: a durable hourly timer that signs the Merkle log's root.

It wakes on the hour (UTC), so the 00:00 checkpoint seals each day's last event, and calls the
write_checkpoint activity. A refused checkpoint (the store does not verify, or the key is
missing) is logged and tried again at the next hour; the workflow itself never fails. After a
week of hours it continues as new, so its history stays small.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.checkpoint import CheckpointActivities, CheckpointWritten

__all__ = ["CHECKPOINT_WORKFLOW_ID", "CheckpointSchedule", "CheckpointWorkflow"]

CHECKPOINT_WORKFLOW_ID = "audit-checkpoint"

WRITE_TIMEOUT = timedelta(minutes=10)
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["CheckpointKeyMissing", "CheckpointRefused"],
)


class CheckpointSchedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    every_seconds: int = 3600
    runs_before_continue: int = 24 * 7
    last: CheckpointWritten | None = None


@workflow.defn(name="CheckpointWorkflow")
class CheckpointWorkflow:
    def __init__(self) -> None:
        self._last: CheckpointWritten | None = None
        self._refused = 0

    @workflow.query
    def last(self) -> CheckpointWritten | None:
        return self._last

    @workflow.run
    async def run(self, schedule: CheckpointSchedule) -> None:
        self._last = schedule.last
        period = schedule.every_seconds
        for _ in range(schedule.runs_before_continue):
            # Sleep to the next multiple of the period (the top of the hour), not a period from
            # now, so checkpoints land on the hour whatever the start time or activity duration.
            now = workflow.now().timestamp()
            await workflow.sleep(timedelta(seconds=period - (now % period)))
            try:
                self._last = await workflow.execute_activity_method(
                    CheckpointActivities.write_checkpoint,
                    start_to_close_timeout=WRITE_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
            except ActivityError as exc:
                self._refused += 1
                workflow.logger.error("checkpoint not written: %s", exc.cause or exc)
        workflow.continue_as_new(
            CheckpointSchedule(
                every_seconds=period,
                runs_before_continue=schedule.runs_before_continue,
                last=self._last,
            )
        )
