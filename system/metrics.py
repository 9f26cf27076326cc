"""The application's own Prometheus metrics and the Temporal client interceptor that feeds them.

Commands are counted where they leave for Temporal (every surface — API, dashboard, CLI through
the API, simulation — goes through a Temporal client), so no surface can forget to count.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
)

__all__ = ["AppMetrics", "CommandMetricsInterceptor", "command_type"]

# Commands finish in tens of milliseconds on the happy path and up to the gateway's bounded wait
# when Temporal is slow; buckets cover both ends.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class AppMetrics:
    """One registry per process (tests build their own so they never see each other's counts)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.commands = Counter(
            "jy231_commands",
            "Commands sent to the trial's workflows, by command type and outcome "
            "(applied, refused, error).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_latency = Histogram(
            "jy231_command_seconds",
            "Time from sending a command to its outcome, by command type.",
            ["command"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )


def command_type(update: str, args: Any) -> str:
    """The trial's name for an update: the command's `type` for `submit`, else the update name."""
    if args:
        command = getattr(args[0], "command", None)
        kind = getattr(command, "type", None)
        if isinstance(kind, str):
            return kind
    return update


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, metrics: AppMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def _observe(
        self, kind: str, started: float, handle: WorkflowUpdateHandle[Any]
    ) -> WorkflowUpdateHandle[Any]:
        outcome = "applied"
        try:
            await handle.result()
        except WorkflowUpdateFailedError:
            outcome = "refused"
        except Exception:
            outcome = "error"
        self._record(kind, started, outcome)
        return handle

    def _record(self, kind: str, started: float, outcome: str) -> None:
        self._metrics.commands.labels(kind, outcome).inc()
        self._metrics.command_latency.labels(kind).observe(time.perf_counter() - started)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        kind = command_type(input.update, input.args)
        started = time.perf_counter()
        try:
            handle = await super().start_workflow_update(input)
        except Exception:
            self._record(kind, started, "error")
            raise
        return await self._observe(kind, started, handle)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        update = input.update_workflow_input
        kind = command_type(update.update, update.args)
        started = time.perf_counter()
        try:
            handle = await super().start_update_with_start_workflow(input)
        except Exception:
            self._record(kind, started, "error")
            raise
        return await self._observe(kind, started, handle)


class CommandMetricsInterceptor(Interceptor):
    """Counts every update a client sends and times it to its outcome."""

    def __init__(self, metrics: AppMetrics) -> None:
        self.metrics = metrics

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self.metrics)
