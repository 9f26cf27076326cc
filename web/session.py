"""A signed session cookie for the dashboard (HMAC-SHA256; itsdangerous is not installed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

__all__ = ["COOKIE_NAME", "Session", "SessionSigner"]

COOKIE_NAME = "jy231_session"


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    # Random per login, so a CSRF token from one session is worthless in the next.
    sid: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class SessionSigner:
    """Signs ``{"u": username, "sid": id, "exp": epoch}``; the role is looked up per request."""

    def __init__(self, secret: str, max_age_s: int = 8 * 3600) -> None:
        self._key = secret.encode()
        self.max_age_s = max_age_s

    def _mac(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def sign(self, username: str, now: float | None = None) -> str:
        return self.issue(username, now)[0]

    def issue(self, username: str, now: float | None = None) -> tuple[str, Session]:
        """A new cookie value and its session (whose id the server records as open)."""
        issued = time.time() if now is None else now
        sid = secrets.token_urlsafe(32)
        data = {"u": username, "sid": sid, "exp": int(issued) + self.max_age_s}
        body = _b64(json.dumps(data).encode())
        return f"{body}.{self._mac(body.encode())}", Session(username, sid)

    def session(self, token: str, now: float | None = None) -> Session | None:
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        current = time.time() if now is None else now
        if not isinstance(data, dict) or int(data.get("exp", 0)) < current:
            return None
        username, sid = data.get("u"), data.get("sid")
        # A cookie from before sessions had ids cannot carry a CSRF token: log in again.
        if not isinstance(username, str) or not isinstance(sid, str):
            return None
        return Session(username, sid)

    def unsign(self, token: str, now: float | None = None) -> str | None:
        found = self.session(token, now)
        return found.username if found else None

    def csrf_token(self, session: Session) -> str:
        # Derived, not stored: any process with the secret can check it, and it dies with
        # the session. The prefix keeps it from ever equalling a cookie MAC.
        return self._mac(f"csrf:{session.sid}".encode())

    def csrf_valid(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), token)
