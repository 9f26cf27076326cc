"""Store fixtures: ``store`` runs each test against SQLite and against PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store.migrate import upgrade
from store.sql import SqlEventStore
from tests.conftest_pg import postgres_database_url, postgres_url  # noqa: F401 (fixtures)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_url(postgres_database_url: Callable[[str], str]) -> str:  # noqa: F811
    """One migrated PostgreSQL database for the store tests; emptied before each test."""
    url = postgres_database_url("store")
    upgrade(url)
    return url


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE events, stream_heads, subject_board RESTART IDENTITY"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    url: str = request.getfixturevalue("pg_url")
    _empty_postgres(url)
    return url


@pytest.fixture(params=BACKENDS)
def fresh_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_database_url: Callable[[str], str],  # noqa: F811
) -> str:
    """An empty, never migrated database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return postgres_database_url("fresh")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlEventStore]:
    opened = SqlEventStore(store_url)
    yield opened
    opened.close()
