"""Security headers on every response: no framing, no sniffing, no inline script, no referrer."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import FastAPI
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
    headers are set on the response's start message, as raw pairs made once.

    ``https``: asked per response whether to send HSTS (the app knows once it has its context,
    which ``web.main`` gives it at start-up, after the middleware is built)."""

    def __init__(self, app: ASGIApp, https: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_security_headers(
                    message.get("headers", ()), path, self.https()
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _pair(name: str, value: str) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), value.encode("latin-1")


_ALWAYS = [
    _pair("X-Frame-Options", "DENY"),
    _pair("X-Content-Type-Options", "nosniff"),
    _pair("Referrer-Policy", "no-referrer"),
    _pair("Cross-Origin-Opener-Policy", "same-origin"),
]
_PAGE_CSP = _pair("Content-Security-Policy", PAGE_CSP)
_DOCS_CSP = _pair("Content-Security-Policy", DOCS_CSP)
_HSTS = _pair("Strict-Transport-Security", "max-age=31536000")
_NO_STORE = _pair("Cache-Control", "no-store")
# Set whatever the handler said (the handler's value is dropped); Cache-Control is only a
# default.
_SET = frozenset(name for name, _ in [*_ALWAYS, _PAGE_CSP, _HSTS])


def _with_security_headers(
    headers: Iterable[tuple[bytes, bytes]], path: str, https: bool
) -> list[tuple[bytes, bytes]]:
    kept: list[tuple[bytes, bytes]] = []
    has_cache_control = False
    for name, value in headers:
        lower = name.lower()
        if lower in _SET:
            continue
        has_cache_control = has_cache_control or lower == b"cache-control"
        kept.append((name, value))
    kept.append(_DOCS_CSP if path.startswith(_DOCS) else _PAGE_CSP)
    kept += _ALWAYS
    if not has_cache_control and not path.startswith("/static/"):
        # Pages and API answers carry subject data: not for shared caches or the back button.
        kept.append(_NO_STORE)
    if https:
        kept.append(_HSTS)
    return kept


def install_security_headers(app: FastAPI, *, https: Callable[[], bool] = lambda: False) -> None:
    app.add_middleware(SecurityHeaders, https=https)
    # Added last, so outermost among the app's own middleware.
    app.add_middleware(SecretScope)
