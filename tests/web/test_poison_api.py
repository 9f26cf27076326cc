"""Poison values through the REST API: 422 naming the field, nothing recorded."""

from __future__ import annotations

import json

import pytest
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from tests.web.conftest import ClientFor
from tests.web.test_api import now_iso, register_body, registered


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("volume_ml", "NaN"),
        ("volume_ml", "Infinity"),
        ("volume_ml", "-Infinity"),
        ("volume_ml", "1e999"),
        ("reason", json.dumps("typed\u0000in")),
        ("reason", json.dumps("bidi \u202e override")),
    ],
)
async def test_a_poison_value_in_a_command_is_a_422_naming_the_field(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    sqlite_store: SqlEventStore,
    field: str,
    raw: str,
) -> None:
    await registered(client_for, time_env, subject_id)
    values = {
        "type": "record_apheresis",
        "occurred_at": await now_iso(time_env),
        "collected_on": (await time_env.get_current_time()).date().isoformat(),
        "volume_ml": 100,
    }
    text = json.dumps(values)[:-1] + f', "{field}": {raw}}}'
    if field == "volume_ml":
        text = text.replace('"volume_ml": 100, ', "")
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/commands",
        content=text,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]
    assert len(sqlite_store.read_stream(subject_id)) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"site_id": "SBH\u000001"}, "site_id"),
        ({"site_id": "SBH\u202e10"}, "site_id"),
        ({"birth_date": "1899-12-31"}, "birth_date"),
        ({"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at"),
    ],
)
async def test_a_registration_with_a_poison_value_is_a_422_and_records_nothing(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    sqlite_store: SqlEventStore,
    changes: dict[str, str],
    field: str,
) -> None:
    body = {**await register_body(time_env, subject_id), **changes}
    response = await client_for("cora").post("/api/subjects", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert sqlite_store.read_stream(subject_id) == []
