"""Fault tests reuse the web tests' user directory."""

from __future__ import annotations

from tests.web.conftest import users

__all__ = ["users"]
