"""Operator endpoints: liveness, readiness of every dependency, and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from system.metrics import AppMetrics
from web.alerts import newest_first
from web.context import AppContext, context
from web.readside import board_item

__all__ = ["ReadSideCollector", "router"]

router = APIRouter(include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]

# A worker polls continuously; one that has not polled for this long is gone.
_POLLER_FRESH = timedelta(minutes=2)
_CHECK_TIMEOUT = 3.0


class ReadSideCollector(Collector):
    """Gauges computed at scrape time from the read side, so they are right after a restart."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        today = self._ctx.today()
        overdue = GaugeMetricFamily(
            "jy231_overdue_visits", "Planned visits whose window has closed, active subjects."
        )
        overdue.add_metric(
            [], sum(len(board_item(r, today).overdue) for r in self._ctx.store.board())
        )
        yield overdue
        alerts = GaugeMetricFamily(
            "jy231_alerts_raised", "Alerts the workers have raised, by kind.", labels=["kind"]
        )
        counts: dict[str, int] = {}
        for alert in newest_first(self._ctx.outbox):
            counts[alert.kind] = counts.get(alert.kind, 0) + 1
        for kind, count in sorted(counts.items()):
            alerts.add_metric([kind], count)
        yield alerts


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Dependencies are /readyz's business."""
    return {"status": "ok"}


async def _temporal(ctx: AppContext) -> str | None:
    ok = await ctx.gateway.client.service_client.check_health(
        timeout=timedelta(seconds=_CHECK_TIMEOUT)
    )
    return None if ok else "Temporal reports it is not serving"


async def _worker(ctx: AppContext) -> str | None:
    client = ctx.gateway.client
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=ctx.gateway.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=timedelta(seconds=_CHECK_TIMEOUT),
    )
    now = datetime.now(UTC)
    fresh = [
        p
        for p in response.pollers
        if now - p.last_access_time.ToDatetime(tzinfo=UTC) < _POLLER_FRESH
    ]
    return None if fresh else f"no worker polls task queue {ctx.gateway.task_queue!r}"


async def _store(ctx: AppContext) -> str | None:
    await asyncio.to_thread(ctx.store.count_events)
    return None


@router.get("/readyz")
async def readyz(ctx: Ctx) -> JSONResponse:
    """Ready when Temporal, a worker and the event store all answer; 503 names what does not."""
    checks: dict[str, str] = {}
    for name, check in (("temporal", _temporal), ("worker", _worker), ("store", _store)):
        try:
            problem = await asyncio.wait_for(check(ctx), timeout=_CHECK_TIMEOUT + 1)
        except Exception as exc:  # any failure means "not ready", named below
            problem = f"unreachable ({type(exc).__name__})"
        checks[name] = problem or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )


@router.get("/metrics")
async def metrics(ctx: Ctx) -> PlainTextResponse:
    registry = _metrics_of(ctx).registry
    body = await asyncio.to_thread(generate_latest, registry)
    return PlainTextResponse(body.decode(), media_type=CONTENT_TYPE_LATEST)


def _metrics_of(ctx: AppContext) -> AppMetrics:
    found = ctx.metrics
    assert found is not None, "create_app always sets the metrics"
    return found
