"""Who is calling: the user list (``system.users``), re-exported for the web layer."""

from __future__ import annotations

from system.users import User, UserDirectory

__all__ = ["User", "UserDirectory"]
