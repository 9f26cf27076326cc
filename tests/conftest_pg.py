"""PostgreSQL databases for tests: fresh, uniquely named, dropped when the session ends.

Import the fixtures into a suite's conftest.py::

    from tests.conftest_pg import postgres_database_url, postgres_url  # noqa: F401

``postgres_database_url(label)`` creates a new empty database and returns its SQLAlchemy URL;
``postgres_url`` is one such database shared by the session. Tests that use them are skipped
when the server (``TEST_POSTGRES_ADMIN_URL``, default 127.0.0.1:5432 as postgres) is unreachable.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = ["ADMIN_URL", "postgres_database_url", "postgres_url"]

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(_libpq(ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(label: str = "test") -> str:
        slug = re.sub(r"[^a-z0-9]+", "_", label.lower())[:20]
        name = f"jy231_{slug}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with _admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return (
            make_url(ADMIN_URL)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )

    yield make

    if created:
        with _admin() as conn:
            for name in created:
                # FORCE: a leaked pool connection must not keep a test database alive.
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@pytest.fixture(scope="session")
def postgres_url(postgres_database_url: Callable[[str], str]) -> str:
    return postgres_database_url("session")
