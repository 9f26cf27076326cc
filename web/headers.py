"""Security headers on every response: no framing, no sniffing, no inline script, no referrer."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from system.redaction import begin_request_secrets

__all__ = ["PAGE_CSP", "SecretScope", "SecurityHeaders", "install_security_headers"]

# The dashboard's scripts and styles are files under /static; nothing inline is allowed, so an
# injected <script> or on*= attribute does not run even if escaping were ever missed.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's interactive API docs load Swagger UI from its CDN with an inline bootstrap script;
# they get their own, wider policy and nothing else does.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_DOCS = ("/docs", "/redoc")


class SecretScope:
    """Pure ASGI, in the request's own task: gives the request a fresh list of secrets to
    keep out of logs (``system.redaction``), still visible to the error middleware and the
    server outside it when they log a failure."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            begin_request_secrets()
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Pure ASGI (no extra task and stream per request, unlike ``@app.middleware``): the
    headers are set on the response's start message."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = (
                    DOCS_CSP if path.startswith(_DOCS) else PAGE_CSP
                )
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if not path.startswith("/static/"):
                    # Pages and API answers carry subject data: not for shared caches or the
                    # back button.
                    headers.setdefault("Cache-Control", "no-store")
                if self.https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, *, https: bool = False) -> None:
    app.add_middleware(SecurityHeaders, https=https)
    # Added last, so outermost among the app's own middleware.
    app.add_middleware(SecretScope)
