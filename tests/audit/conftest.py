"""Audit fixtures: a populated store on SQLite and on PostgreSQL, and direct-SQL tampering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from store.sql import SqlEventStore
from tests.audit.tamper import populate
from tests.conftest_pg import postgres_database_url, postgres_url  # noqa: F401 (fixtures)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def audit_store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_database_url: Callable[[str], str],  # noqa: F811
) -> Iterator[SqlEventStore]:
    """Two subjects' histories (one with a correction) on a fresh database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        url = postgres_database_url("audit")
    store = SqlEventStore(url)
    populate(store)
    try:
        yield store
    finally:
        store.close()
