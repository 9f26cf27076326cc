"""Template rendering shared by every dashboard router."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.context import AppContext
from web.csrf import FIELD, csrf_for

__all__ = ["render"]


def render(
    ctx: AppContext, request: Request, name: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    # Every page may hold a form (the header's logout at least), so every page gets the token.
    values = {"csrf_field": FIELD, "csrf_token": csrf_for(request, ctx), **values}
    response: HTMLResponse = ctx.templates.TemplateResponse(
        request, name, values, status_code=status_code
    )
    return response
