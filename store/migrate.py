"""Bring a store database to the newest schema with Alembic, from any working directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from store.engine import SQLITE_BEGIN, create_store_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "upgrade", "upgrade_engine"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Arbitrary constant: the PostgreSQL advisory lock that makes concurrent upgrades (worker and
# web starting together) run one after the other instead of racing on CREATE TABLE.
_PG_MIGRATION_LOCK = 7_231_001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade in one transaction that also holds the database's writer lock."""
    config = alembic_config()
    with engine.connect() as conn:
        conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


def upgrade(url: str | URL, revision: str = "head") -> None:
    engine = create_store_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()
