"""Every endpoint and dependency of the app is ``async def``: FastAPI runs a plain ``def`` in
a worker thread, one thread hop per request and per dependency for nothing (issue 13)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _is_async(call: Any) -> bool:
    # A security scheme is an instance whose ``__call__`` is the dependency.
    method = type(call).__call__ if not inspect.isfunction(call) else None
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(method)


def _sync_dependencies(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    for sub in dependant.dependencies:
        if sub.call is not None and not _is_async(sub.call):
            found.add(getattr(sub.call, "__qualname__", repr(sub.call)))
        found |= _sync_dependencies(sub)
    return found


def _api_routes(routes: list[Any], sync: set[str]) -> list[APIRoute]:
    """Every API route, also those of included routers (whose own dependencies are noted)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        router = getattr(route, "original_router", None)
        if router is not None:
            sync |= {
                f"router: {d.dependency.__qualname__}"
                for d in router.dependencies
                if d.dependency is not None and not _is_async(d.dependency)
            }
            found += _api_routes(router.routes, sync)
    return found


def test_no_endpoint_or_dependency_runs_in_a_thread(app: FastAPI) -> None:
    sync: set[str] = set()
    routes = _api_routes(list(app.routes), sync)
    assert len(routes) > 50
    sync |= {
        f"{route.path}: {name}"
        for route in routes
        for name in (
            _sync_dependencies(route.dependant)
            | ({route.endpoint.__qualname__} if not _is_async(route.endpoint) else set())
        )
    }
    assert not sync, sorted(sync)
