"""The ASGI entry point ``web.main:app``: settings, Temporal connection and store at start-up."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import structlog
from fastapi import FastAPI

from domain.protocol import load_protocol
from store.factory import open_store
from store.security import SecurityStore
from system.amendments import AmendmentRegistry
from system.config import load_settings
from system.gateway import StudyGateway, SubjectGateway
from system.logging import configure_logging
from system.metrics import AppMetrics, CommandMetricsInterceptor
from system.telemetry import configure_tracing, tracing_interceptors
from system.temporal import connect
from web.app import app_context, install_context, new_app
from web.auth import UserDirectory
from worker import OUTBOX_NAME

__all__ = ["DEFAULT_TEMPORAL_ADDRESS", "app", "build_app"]

log = structlog.get_logger(__name__)

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings()
    configure_logging(settings.log_format)
    address = settings.temporal_address or DEFAULT_TEMPORAL_ADDRESS
    metrics = AppMetrics()
    tracing = configure_tracing(settings.otel_endpoint, "jy231-web")
    client = await connect(
        address,
        settings.temporal_namespace,
        interceptors=[CommandMetricsInterceptor(metrics), *tracing_interceptors(tracing)],
    )
    store = open_store(settings.event_store_url)
    # New subjects start under the latest amendment in force (registered through the API).
    protocol = AmendmentRegistry(store).in_force(load_protocol(), date.today())
    study = StudyGateway(client, settings.task_queue, protocol)
    if settings.study_gating:
        # Idempotent (USE_EXISTING): every start-up joins the one StudyWorkflow of the trial.
        await study.start()
        gateway = SubjectGateway(
            client,
            settings.task_queue,
            protocol,
            study_id=study.workflow_id,
            store=store,
            search_attributes=settings.search_attributes,
            wait_s=settings.command_wait_s,
        )
    else:
        gateway = SubjectGateway(
            client,
            settings.task_queue,
            protocol,
            store=store,
            search_attributes=settings.search_attributes,
            wait_s=settings.command_wait_s,
        )
    log.info(
        "study gating " + ("on" if settings.study_gating else "off"),
        study=study.workflow_id if settings.study_gating else None,
    )
    users = UserDirectory.load(settings.users_file)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    security = SecurityStore(settings.security_db_url)
    # The context needs the connected client, so the app gets it here; its routes and middleware
    # were there from the start (one app: a mounted inner app cost every request a second
    # middleware stack and router).
    install_context(
        app,
        app_context(
            gateway,
            store,
            users,
            session_secret=os.environ.get("JY231_SESSION_SECRET"),
            # Where worker.main writes alerts, so the alerts page reads what the worker wrote.
            outbox=settings.data_dir / OUTBOX_NAME,
            study=study,
            metrics=metrics,
            security=security,
            secure_cookies=settings.secure_cookies,
            session_idle_s=settings.session_idle_minutes * 60,
            # The client's own codec: the Temporal UI sees what this app's client would.
            codec=client.data_converter.payload_codec,
            codec_origins=settings.temporal_ui_origins,
        ),
    )
    log.info("web app ready", temporal=address, users=len(users))
    try:
        yield
    finally:
        store.close()
        security.close()


def build_app() -> FastAPI:
    """The production app: settings from the environment, everything connected at start-up."""
    return new_app(lifespan=_lifespan)


app = build_app()
