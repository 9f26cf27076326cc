"""The operations surface: REST API and server-rendered dashboard over the subject workflows."""

from __future__ import annotations

__all__: list[str] = []
