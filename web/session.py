"""A signed session cookie for the dashboard (HMAC-SHA256; itsdangerous is not installed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

__all__ = ["COOKIE_NAME", "SessionSigner"]

COOKIE_NAME = "jy231_session"


class SessionSigner:
    """Signs ``{"u": username, "exp": epoch}``; the role is looked up fresh on every request."""

    def __init__(self, secret: str, max_age_s: int = 8 * 3600) -> None:
        self._key = secret.encode()
        self.max_age_s = max_age_s

    def _mac(self, body: bytes) -> str:
        digest = hmac.new(self._key, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, username: str, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        payload = json.dumps({"u": username, "exp": int(issued) + self.max_age_s}).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._mac(body.encode())}"

    def unsign(self, token: str, now: float | None = None) -> str | None:
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
        username = data.get("u")
        return username if isinstance(username, str) else None
