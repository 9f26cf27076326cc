"""The FastAPI application factory: API and dashboard over one gateway, store and user list."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from temporalio.converter import PayloadCodec

from store.base import EventStore
from store.security import SecurityStore
from system.gateway import StudyGateway, SubjectGateway
from system.metrics import AppMetrics
from web import (
    api,
    codec_server,
    custody_api,
    custody_pages,
    monitoring_api,
    monitoring_pages,
    ops,
    overview_pages,
    pages,
    protocol_api,
    reconsent,
    safety_api,
    safety_pages,
    security_log,
    study_api,
    study_pages,
)
from web.auth import UserDirectory
from web.commands import document_body_command_id
from web.context import AppContext
from web.errors import install_error_handlers
from web.headers import install_security_headers
from web.login_guard import LoginGuard, LoginPolicy
from web.ops import ReadSideCollector
from web.session import SessionSigner
from web.token_cache import TokenCache
from web.tracing import RequestSpanMiddleware
from worker import default_outbox

__all__ = ["app_context", "create_app", "install_context", "new_app"]

_HERE = Path(__file__).resolve().parent


def create_app(
    gateway: SubjectGateway,
    store: EventStore,
    users: UserDirectory,
    *,
    session_secret: str | None = None,
    today: Callable[[], date] = date.today,
    lifespan: Any = None,
    outbox: Path | None = None,
    study: StudyGateway | None = None,
    metrics: AppMetrics | None = None,
    security: SecurityStore | None = None,
    secure_cookies: bool = False,
    session_idle_s: float = 30 * 60,
    login_policy: LoginPolicy | None = None,
    codec: PayloadCodec | None = None,
    codec_origins: tuple[str, ...] = (),
) -> FastAPI:
    """``outbox``: the workers' safety-notification file; by default where the worker puts it
    for this store. ``study``: the StudyWorkflow the slot and safety-review forms talk to.
    ``security``: sessions, tokens, login failures and the security log (by default in memory:
    they end with the process). ``secure_cookies``: the session cookie only over HTTPS."""
    app = new_app(lifespan=lifespan)
    install_context(
        app,
        app_context(
            gateway,
            store,
            users,
            session_secret=session_secret,
            today=today,
            outbox=outbox,
            study=study,
            metrics=metrics,
            security=security,
            secure_cookies=secure_cookies,
            session_idle_s=session_idle_s,
            login_policy=login_policy,
            codec=codec,
            codec_origins=codec_origins,
        ),
    )
    return app


def new_app(*, lifespan: Any = None) -> FastAPI:
    """Every route, middleware and error handler, without the context: ``install_context``
    gives it one (``web.main`` does so at start-up, once Temporal is connected)."""
    app = FastAPI(
        title="JY231 trial orchestrator",
        summary="NCT06243159 · JY231 CAR-T for refractory autoimmune diseases",
        description="Commands go to each subject's Temporal workflow; reads come from the "
        "event store. Authenticate with a bearer token (`trial user token`) or HTTP Basic; "
        "monitors have read-only access.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestSpanMiddleware)
    # HSTS with secure cookies, which the context says (it comes after the middleware).
    install_security_headers(app, https=lambda: _https(app))
    for router in _ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    generated = app.openapi

    def openapi() -> dict[str, Any]:
        return document_body_command_id(generated())

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_context(
    gateway: SubjectGateway,
    store: EventStore,
    users: UserDirectory,
    *,
    session_secret: str | None = None,
    today: Callable[[], date] = date.today,
    outbox: Path | None = None,
    study: StudyGateway | None = None,
    metrics: AppMetrics | None = None,
    security: SecurityStore | None = None,
    secure_cookies: bool = False,
    session_idle_s: float = 30 * 60,
    login_policy: LoginPolicy | None = None,
    codec: PayloadCodec | None = None,
    codec_origins: tuple[str, ...] = (),
) -> AppContext:
    """What the handlers share; the arguments are those of ``create_app``."""
    security = security or SecurityStore()
    return AppContext(
        gateway=gateway,
        store=store,
        users=users,
        # A random secret means sessions end when the process restarts; set one to keep them.
        signer=SessionSigner(session_secret or secrets.token_urlsafe(32)),
        templates=Jinja2Templates(directory=_HERE / "templates"),
        today=today,
        outbox=outbox or default_outbox(store),
        study=study,
        metrics=metrics or AppMetrics(),
        security=security,
        guard=LoginGuard(users, security, login_policy),
        tokens=TokenCache(security),
        session_idle_s=session_idle_s,
        secure_cookies=secure_cookies,
        codec=codec,
        codec_origins=codec_origins,
    )


def _https(app: FastAPI) -> bool:
    ctx: AppContext | None = getattr(app.state, "ctx", None)
    return ctx is not None and ctx.secure_cookies


def install_context(app: FastAPI, ctx: AppContext) -> None:
    app.state.ctx = ctx
    assert ctx.metrics is not None
    ctx.metrics.registry.register(ReadSideCollector(ctx))


_ROUTERS = (
    api.router,
    safety_api.router,
    study_api.router,
    protocol_api.router,
    reconsent.router,
    custody_api.router,
    monitoring_api.router,
    pages.router,
    safety_pages.router,
    study_pages.router,
    ops.router,
    overview_pages.router,
    security_log.router,
    codec_server.router,
    custody_pages.router,
    monitoring_pages.router,
)
