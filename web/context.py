"""What every request handler needs, held on ``app.state`` and fetched through dependencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from temporalio.converter import PayloadCodec

from store.base import EventStore
from store.security import SecurityStore
from system.gateway import StudyGateway, SubjectGateway
from system.metrics import AppMetrics
from web.auth import UserDirectory
from web.login_guard import LoginGuard
from web.session import SessionSigner
from web.token_cache import TokenCache

__all__ = ["AppContext", "context"]


@dataclass(frozen=True, slots=True)
class AppContext:
    gateway: SubjectGateway
    store: EventStore
    users: UserDirectory
    signer: SessionSigner
    templates: Jinja2Templates
    # The date the board measures "overdue" and "days since infusion" against.
    today: Callable[[], date]
    # The JSONL file the workers' notify activity writes safety alerts to.
    outbox: Path
    # Server-side sessions, API tokens, login failures and the security log.
    security: SecurityStore
    guard: LoginGuard
    # Bearer tokens: looked up in ``security`` at most once a second per token, at once after
    # a revocation in this process.
    tokens: TokenCache
    # A dashboard session ends after this long without a request (and at logout).
    session_idle_s: float
    # Session cookies only over HTTPS (on behind the compose file's TLS proxy).
    secure_cookies: bool
    # The trial's StudyWorkflow; None hides the slot and safety-review forms.
    study: StudyGateway | None = None
    # Prometheus registry of this app's own metrics (commands, outcomes, latency).
    metrics: AppMetrics | None = None
    # The payload codec behind /codec (Temporal UI); None: the endpoint answers 503.
    codec: PayloadCodec | None = None
    # Origins (the Temporal UI's) allowed to call /codec from the browser with credentials.
    codec_origins: tuple[str, ...] = ()
    # Subjects whose stream was found: an event stream is never deleted, so each subject's
    # existence is read from the store once per process, not once per command.
    known_subjects: set[str] = field(default_factory=set)


async def context(request: Request) -> AppContext:
    # async, as every dependency here: FastAPI runs a plain ``def`` dependency in a thread.
    ctx: AppContext = request.app.state.ctx
    return ctx
