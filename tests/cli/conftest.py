"""The CLI tests use the web tests' live server: a real uvicorn app on the real worker."""

from __future__ import annotations

from tests.web.conftest import clock, live_server, live_worker, subject_id, users

__all__ = ["clock", "live_server", "live_worker", "subject_id", "users"]
