"""Metrics and traces of the worker and the web app: Temporal's runtime metrics on a Prometheus
endpoint, per-activity timings, and OpenTelemetry tracing that is off unless an endpoint is set."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import timedelta
from time import perf_counter
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio import activity
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

__all__ = [
    "ActivityMetricsInterceptor",
    "add_trace_context",
    "configure_tracing",
    "tracing_interceptors",
    "worker_runtime",
]

log = structlog.get_logger(__name__)

TRACER_NAME = "jy231"


def worker_runtime(bind: str | None) -> Runtime | None:
    """A Temporal runtime serving its metrics for Prometheus at ``bind`` (host:port).

    None when switched off, or when the port is taken: metrics must never keep a worker from
    processing the trial's commands.
    """
    if not bind:
        return None
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    except Exception as exc:  # the core reports a taken port as a plain error
        log.warning("worker metrics endpoint not started", bind=bind, error=str(exc))
        return None


class _ActivityTimer(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        started = perf_counter()
        outcome = "ok"
        try:
            return await super().execute_activity(input)
        except BaseException:
            outcome = "failed"
            raise
        finally:
            meter = activity.metric_meter().with_additional_attributes(
                {"activity": activity.info().activity_type, "outcome": outcome}
            )
            meter.create_histogram_timedelta(
                "jy231_activity_latency",
                "Time one attempt of an activity took (append_events is the store append; "
                "notify raises an alert).",
            ).record(timedelta(seconds=perf_counter() - started))
            meter.create_counter("jy231_activity_attempts", "Activity attempts.").add(1)


class ActivityMetricsInterceptor(Interceptor):
    """Times every activity attempt on the worker's Temporal metrics endpoint."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityTimer(next)


def configure_tracing(endpoint: str | None, service: str) -> bool:
    """Export traces over OTLP/HTTP when an endpoint is configured; otherwise tracing stays off."""
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    log.info("tracing on", endpoint=endpoint, service=service)
    return True


def tracing_interceptors(enabled: bool) -> Sequence[TracingInterceptor]:
    """Temporal's tracing interceptor carries the span context through updates and activities."""
    return [TracingInterceptor(trace.get_tracer(TRACER_NAME))] if enabled else []


def add_trace_context(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: log lines written inside a span carry its trace id."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
