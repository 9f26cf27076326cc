"""Exception handlers: domain refusals become status codes, and no traceback reaches a user."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from domain import errors
from domain.access import ALLOWED_ROLES
from domain.signing import SignatureRefused
from system.commands import CommandPending, DependencyUnavailable
from web.csrf import CsrfRefused
from web.security import LoginRequired

__all__ = ["install_error_handlers", "status_for", "validation_detail"]

log = structlog.get_logger(__name__)

_COMMAND_TAGS = frozenset(ALLOWED_ROLES)

_STATUS: dict[type[errors.DomainError], int] = {
    errors.ValueOutOfRange: 422,
    errors.Unstorable: 422,
    errors.DuplicateCommand: 409,
    errors.WrongPhase: 409,
    errors.MissingPrerequisite: 409,
    errors.RoleNotAllowed: 403,
    errors.NotFound: 404,
    # The worker refused this gateway's own seal: a key or clock misconfiguration, not the user.
    SignatureRefused: 503,
}


def status_for(exc: errors.DomainError) -> int:
    return next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 409)


def validation_detail(raw: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{"field", "rule", "msg"}``; the request-part prefix is dropped."""
    detail = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header", "cookie"}:
            loc = loc[1:]
        # A command union puts its tag first; the field is named as the domain names it.
        if len(loc) > 1 and loc[0] in _COMMAND_TAGS:
            loc = loc[1:]
        detail.append(
            {"field": ".".join(loc) or None, "rule": err.get("type"), "msg": err.get("msg")}
        )
    return detail


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    code = status_for(exc)
    log.info("command refused", path=request.url.path, code=exc.code, message=exc.message)
    if not request.url.path.startswith("/api"):
        return _page(request, exc.message, code)
    if code == 422:
        body: dict[str, Any] = {
            "detail": [{"field": exc.field, "rule": exc.code, "msg": exc.message}]
        }
    else:
        body = {"detail": exc.message, "code": exc.code, "field": exc.field}
    return JSONResponse(body, status_code=code)


def _page(request: Request, message: str, code: int) -> Response:
    ctx = request.app.state.ctx
    response: Response = ctx.templates.TemplateResponse(
        request, "error.html", {"message": message, "status": code, "actor": None}, status_code=code
    )
    return response


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfRefused)
    log.warning("form refused without a valid CSRF token", path=request.url.path, why=str(exc))
    message = (
        f"Nothing was recorded: {exc}. Forms are accepted only from pages of this dashboard "
        "opened in your current session. Go back, reload the page and submit it again."
    )
    return _page(request, message, 403)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(list(exc.errors()))}, status_code=422)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and request.url.path.startswith("/api"):
        # FastAPI's answer to a body that is not UTF-8 text; bad input is a 422 naming the field
        # like every other (a body that is text but not JSON already is).
        field = {"field": "body", "rule": "json_invalid", "msg": f"{exc.detail} (not UTF-8 JSON)"}
        return JSONResponse({"detail": [field]}, status_code=422)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _pending(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CommandPending)
    log.warning("command pending", path=request.url.path, command_id=exc.status.command_id)
    location = f"/api/commands/{exc.status.command_id}"
    if not request.url.path.startswith("/api"):
        message = (
            f"Your entry is accepted but not yet confirmed (command {exc.status.command_id}). "
            "Submit the same form again to see its outcome; it will not be recorded twice."
        )
        return _page(request, message, 202)
    body = {"command_id": exc.status.command_id, "status": "pending", "detail": str(exc)}
    return JSONResponse(body, status_code=202, headers={"Location": location})


def _unavailable_response(request: Request, dependency: str, detail: str, retry: int) -> Response:
    log.warning("dependency unavailable", path=request.url.path, dependency=dependency)
    message = f"{dependency} is unavailable ({detail}); nothing is lost, try again shortly"
    headers = {"Retry-After": str(retry)}
    if not request.url.path.startswith("/api"):
        response = _page(request, message, 503)
        response.headers.update(headers)
        return response
    body = {"detail": message, "dependency": dependency}
    return JSONResponse(body, status_code=503, headers=headers)


async def _unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DependencyUnavailable)
    return _unavailable_response(request, exc.dependency, exc.detail, exc.retry_after_s)


def _store_down(exc: sa.DBAPIError) -> bool:
    """A database that cannot be reached or is busy, as opposed to a broken schema or query."""
    if exc.connection_invalidated or isinstance(exc, sa.InterfaceError):
        return True
    if not isinstance(exc, sa.OperationalError):
        return False
    # SQLite reports a missing table as an OperationalError too: that is a bug, not an outage.
    message = str(exc.orig).lower()
    return not any(s in message for s in ("no such table", "no such column", "syntax error"))


async def _store_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, sa.DBAPIError)
    if _store_down(exc):
        return _unavailable_response(
            request, "the event store", f"database error {type(exc.orig).__name__}", 5
        )
    return await _unexpected(request, exc)


async def _temporal_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RPCError) and exc.status not in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
    ):
        return await _unexpected(request, exc)
    return _unavailable_response(request, "Temporal", "the workflow service does not answer", 5)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged in full for operators; the user sees only that something failed.
    log.exception("unhandled error", path=request.url.path)
    if not request.url.path.startswith("/api"):
        return _page(request, "Something went wrong; the error has been logged.", 500)
    return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(CommandPending, _pending)
    app.add_exception_handler(DependencyUnavailable, _unavailable)
    app.add_exception_handler(sa.DBAPIError, _store_error)
    app.add_exception_handler(RPCError, _temporal_error)
    app.add_exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError, _temporal_error)
    app.add_exception_handler(Exception, _unexpected)
