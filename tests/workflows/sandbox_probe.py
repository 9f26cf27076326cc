"""Workflows for tests/workflows/test_sandbox.py: one tries what workflow code may not do, one
runs an activity (so the worker asks for an activity's serialization context)."""

from __future__ import annotations

import datetime
import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

__all__ = ["FORBIDDEN", "ActivityProbe", "ForbiddenProbe", "echo"]

FORBIDDEN: dict[str, Callable[[], object]] = {
    "clock": datetime.datetime.now,
    "utc clock": lambda: datetime.datetime.now(datetime.UTC),
    "time": time.time,
    "randomness": random.random,
    "uuid4": uuid.uuid4,
    "environment": lambda: os.environ.get("HOME"),
    "file": lambda: open(__file__, encoding="utf-8").read(),  # noqa: SIM115
}


@workflow.defn(sandboxed=True)
class ForbiddenProbe:
    @workflow.run
    async def run(self, attempt: str) -> str:
        """The name of the error the attempt raised in the workflow, or "allowed"."""
        try:
            FORBIDDEN[attempt]()
        except RestrictedWorkflowAccessError as error:
            return type(error).__name__
        return "allowed"


@activity.defn
async def echo(text: str) -> str:
    return text


@workflow.defn(sandboxed=True)
class ActivityProbe:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=10)
        )
