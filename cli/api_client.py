"""The CLI's HTTP client for the running web API, and how its answers map to exit codes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from rich.console import Console

__all__ = [
    "EXIT_DOMAIN",
    "EXIT_INPUT",
    "EXIT_NOT_RUNNING",
    "ApiClient",
    "Credentials",
    "fail",
]

EXIT_DOMAIN = 1
EXIT_INPUT = 2
EXIT_NOT_RUNNING = 3

DEFAULT_URL = "http://127.0.0.1:8000"
# Read timeouts retried with the same Idempotency-Key before giving up.
_RETRIES = 2

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    _stderr.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str | None
    password: str | None

    def auth(self) -> httpx.Auth:
        """A bearer token (``JY231_TOKEN``, from `trial user token`) unless a user is named."""
        token = os.environ.get("JY231_TOKEN")
        if token and not self.user:
            return _Bearer(token)
        return httpx.BasicAuth(*self.resolved())

    def resolved(self) -> tuple[str, str]:
        user = self.user or os.environ.get("JY231_USER")
        password = self.password or os.environ.get("JY231_PASSWORD")
        if not user or not password:
            raise fail(
                "no credentials: set JY231_TOKEN, or pass --user/--password or set JY231_USER "
                "and JY231_PASSWORD",
                EXIT_INPUT,
            )
        return user, password


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _describe(body: Any, fallback: str) -> tuple[str, bool]:
    """The server's error as one line, and whether it is a domain refusal (vs bad input)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail, True
    if isinstance(detail, list) and detail:
        parts = [
            f"{d.get('field') or 'input'}: {d.get('msg')}" for d in detail if isinstance(d, dict)
        ]
        domain = any(isinstance(d, dict) and d.get("rule") == "value_out_of_range" for d in detail)
        return "; ".join(parts), domain
    return fallback, True


class ApiClient:
    """Synchronous calls to the API; every failure becomes a one-line message and exit code."""

    def __init__(self, credentials: Credentials, base_url: str | None = None) -> None:
        self.base_url = (base_url or os.environ.get("JY231_API_URL") or DEFAULT_URL).rstrip("/")
        self._auth = credentials.auth()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # A write carries its Idempotency-Key, so a read timeout is retried with the same key:
        # the server answers a repeat with the first outcome and records nothing twice.
        attempts = _RETRIES + 1 if "Idempotency-Key" in kwargs.get("headers", {}) else 1
        for attempt in range(1, attempts + 1):
            try:
                with httpx.Client(base_url=self.base_url, auth=self._auth, timeout=60) as http:
                    response = http.request(method, path, **kwargs)
                break
            except httpx.TimeoutException as exc:
                if attempt < attempts:
                    continue
                raise fail(
                    f"no answer from {self.base_url} in time ({type(exc).__name__}); "
                    "the command may still be applied: run the same command again with "
                    f"JY231_COMMAND_ID={kwargs['headers'].get('Idempotency-Key', '?')}",
                    EXIT_NOT_RUNNING,
                ) from exc
            except httpx.TransportError as exc:
                raise fail(
                    f"the JY231 system is not running at {self.base_url} "
                    f"({type(exc).__name__}); start it with `make run`",
                    EXIT_NOT_RUNNING,
                ) from exc
        if response.status_code == 202:
            pending = response.json()
            raise fail(
                f"accepted but not yet confirmed: {pending.get('detail')}; check with "
                f"`trial command {pending.get('command_id')}`, or repeat with "
                f"JY231_COMMAND_ID={pending.get('command_id')}",
                EXIT_NOT_RUNNING,
            )
        if response.is_success:
            return response
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        message, domain = _describe(body, f"HTTP {response.status_code}")
        if response.status_code in (401, 429):
            raise fail(f"authentication failed: {message}", EXIT_INPUT)
        if response.status_code == 422 and not domain:
            raise fail(f"invalid input: {message}", EXIT_INPUT)
        if response.status_code == 503:
            retry = response.headers.get("Retry-After", "a few")
            raise fail(f"{message} (retry after {retry} s)", EXIT_NOT_RUNNING)
        if response.status_code >= 500:
            raise fail(f"the server failed: {message}", EXIT_NOT_RUNNING)
        raise fail(message, EXIT_DOMAIN)

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def get_text(self, path: str, **params: Any) -> str:
        return self.request("GET", path, params=params).text

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """One submission, one command id: JY231_COMMAND_ID repeats an earlier one."""
        key = os.environ.get("JY231_COMMAND_ID") or str(uuid.uuid4())
        return self.request("POST", path, json=body, headers={"Idempotency-Key": key}).json()
