"""Alembic migrations of the event store (a package so it ships with the wheel)."""
