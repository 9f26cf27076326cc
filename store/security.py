"""Server-side sessions, API tokens, login failure counters and the security log.

Kept apart from the event store: none of this is trial data, and a session or a failed login is
not an event of any subject. SQLite by default (``<data dir>/security.db``); any SQLAlchemy URL.
Secrets are never stored: session ids and token secrets are kept as SHA-256 digests (they are
random and long, so a fast hash is enough and a lookup needs no argon2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

__all__ = ["ApiToken", "FailureState", "SecurityEvent", "SecurityStore", "digest"]

_meta = MetaData()

sessions = Table(
    "sessions",
    _meta,
    Column("sid_digest", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("revoked_at", Float),
)
tokens = Table(
    "api_tokens",
    _meta,
    Column("token_id", String(32), primary_key=True),
    Column("secret_digest", String(64), nullable=False),
    Column("username", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)
failures = Table(
    "login_failures",
    _meta,
    # "account:<name>" or "address:<ip>"
    Column("key", String(200), primary_key=True),
    Column("failed", Integer, nullable=False),
    Column("first_at", Float, nullable=False),
    Column("locked_until", Float),
)
events = Table(
    "security_events",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("username", String(64)),
    Column("address", String(64)),
    Column("detail", String(500), nullable=False),
)

TOKEN_PREFIX = "jy231"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_id: str
    username: str
    role: str
    label: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class FailureState:
    count: int
    first_at: float
    locked_until: float | None


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    at: float
    kind: str
    username: str | None
    address: str | None
    detail: str


class SecurityStore:
    def __init__(self, url: str = "sqlite://") -> None:
        kwargs: dict[str, Any] = {}
        if url in {"sqlite://", "sqlite:///:memory:"}:
            # One shared in-memory database for every thread of the process (tests, no data dir).
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine: Engine = create_engine(url, **kwargs)
        _meta.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # Sessions ---------------------------------------------------------------------------

    def open_session(self, sid: str, username: str, now: float | None = None) -> None:
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    sid_digest=digest(sid), username=username, created_at=at, last_seen=at
                )
            )

    def touch_session(
        self, sid: str, idle_s: float, max_age_s: float, now: float | None = None
    ) -> str | None:
        """The session's user if it is open, not idle for ``idle_s`` and younger than
        ``max_age_s``; marks it seen now."""
        at = time.time() if now is None else now
        key = digest(sid)
        with self.engine.begin() as conn:
            row = conn.execute(select(sessions).where(sessions.c.sid_digest == key)).first()
            if row is None or row.revoked_at is not None:
                return None
            if at - row.last_seen > idle_s or at - row.created_at > max_age_s:
                conn.execute(
                    update(sessions).where(sessions.c.sid_digest == key).values(revoked_at=at)
                )
                return None
            # Written at most once a minute: every page view need not be a database write.
            if at - row.last_seen > 60:
                conn.execute(
                    update(sessions).where(sessions.c.sid_digest == key).values(last_seen=at)
                )
            return str(row.username)

    def revoke_session(self, sid: str, now: float | None = None) -> None:
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.sid_digest == digest(sid), sessions.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )

    def revoke_user(self, username: str, now: float | None = None) -> None:
        """End every session and token of a user (deactivation, password reset, role change)."""
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            for table in (sessions, tokens):
                conn.execute(
                    update(table)
                    .where(table.c.username == username, table.c.revoked_at.is_(None))
                    .values(revoked_at=at)
                )

    # API tokens -------------------------------------------------------------------------

    def create_token(self, username: str, role: str, label: str, now: float | None = None) -> str:
        """A new bearer token, returned once; only its digest is kept."""
        at = time.time() if now is None else now
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(tokens).values(
                    token_id=token_id,
                    secret_digest=digest(secret),
                    username=username,
                    role=role,
                    label=label,
                    created_at=at,
                )
            )
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def token(self, presented: str) -> ApiToken | None:
        """The live token ``presented`` is, or None (unknown, wrong secret or revoked)."""
        prefix, _, rest = presented.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not token_id or not secret:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(tokens.c.token_id == token_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(str(row.secret_digest), digest(secret)):
            return None
        return _token(row)

    def tokens(self, username: str | None = None) -> list[ApiToken]:
        query = select(tokens).order_by(tokens.c.created_at)
        if username is not None:
            query = query.where(tokens.c.username == username)
        with self.engine.connect() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke_token(self, token_id: str, now: float | None = None) -> bool:
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tokens)
                .where(tokens.c.token_id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return bool(result.rowcount)

    # Login failures ---------------------------------------------------------------------

    def failure_state(self, key: str) -> FailureState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(failures).where(failures.c.key == key)).first()
        return None if row is None else FailureState(row.failed, row.first_at, row.locked_until)

    def record_failure(
        self, key: str, *, window_s: float, limit: int, lockout_s: float, now: float
    ) -> FailureState:
        """Count a failure in the window; at ``limit`` the key is locked for ``lockout_s``."""
        with self.engine.begin() as conn:
            row = conn.execute(select(failures).where(failures.c.key == key)).first()
            if row is None or now - row.first_at > window_s:
                count, first_at = 1, now
            else:
                count, first_at = row.failed + 1, row.first_at
            locked_until = now + lockout_s if count >= limit else None
            values = {"failed": count, "first_at": first_at, "locked_until": locked_until}
            if row is None:
                conn.execute(insert(failures).values(key=key, **values))
            else:
                conn.execute(update(failures).where(failures.c.key == key).values(**values))
        return FailureState(count, first_at, locked_until)

    def clear_failures(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(failures).where(failures.c.key == key))

    # Security log -----------------------------------------------------------------------

    def log_event(
        self,
        kind: str,
        detail: str,
        *,
        username: str | None = None,
        address: str | None = None,
        now: float | None = None,
    ) -> None:
        at = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(
                insert(events).values(
                    at=at, kind=kind, username=username, address=address, detail=detail[:500]
                )
            )

    def events(self, limit: int = 200) -> list[SecurityEvent]:
        query = select(events).order_by(events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                SecurityEvent(row.at, row.kind, row.username, row.address, row.detail)
                for row in conn.execute(query)
            ]


def _token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=str(row.token_id),
        username=str(row.username),
        role=str(row.role),
        label=str(row.label),
        created_at=float(row.created_at),
        revoked_at=None if row.revoked_at is None else float(row.revoked_at),
    )
