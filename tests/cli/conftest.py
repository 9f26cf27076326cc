"""The CLI tests use the web tests' live server: a real uvicorn app on the real worker."""

from __future__ import annotations

from tests.web.conftest import clock, gateway, live_server, subject_id, users

__all__ = ["clock", "gateway", "live_server", "subject_id", "users"]
