"""Open the configured event store: explicit URL, else ``EVENT_STORE_URL``, else a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

from store.base import EventStore
from store.sql import SqlEventStore

__all__ = ["DEFAULT_SQLITE_PATH", "ENV_VAR", "default_url", "open_store"]

ENV_VAR = "EVENT_STORE_URL"
DEFAULT_SQLITE_PATH = Path(".data") / "events.db"


def default_url() -> str:
    """The SQLite file under ``.data/`` of the current directory, as an absolute URL."""
    return f"sqlite:///{(Path.cwd() / DEFAULT_SQLITE_PATH).resolve()}"


def open_store(url: str | None = None) -> EventStore:
    """Open (and migrate to the newest schema) the event store at ``url``."""
    chosen = url or os.environ.get(ENV_VAR) or default_url()
    return SqlEventStore(chosen)
