"""Template rendering shared by every dashboard router."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from web.context import AppContext

__all__ = ["render"]


def render(
    ctx: AppContext, request: Request, name: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    response: HTMLResponse = ctx.templates.TemplateResponse(
        request, name, values, status_code=status_code
    )
    return response
