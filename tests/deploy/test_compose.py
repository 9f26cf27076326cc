"""docker-compose.yml follows Temporal's current compose pattern; no container engine runs here,
so the wiring is checked from the file itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def _depends(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on", {})
    assert isinstance(deps, dict), f"{service}: depends_on must name a condition per dependency"
    return {name: spec["condition"] for name, spec in deps.items()}


def _published_ports(service: str) -> list[str]:
    return [str(p) for p in SERVICES[service].get("ports", [])]


def test_the_deployment_has_every_component_of_the_pattern() -> None:
    assert set(SERVICES) == {
        "temporal-db",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
        "events-db",
        "worker",
        "web",
    }


def test_no_deprecated_auto_setup_image_and_every_image_is_pinned() -> None:
    for name, service in SERVICES.items():
        image = service.get("image")
        if image is None:
            assert service.get("build"), f"{name} has neither image nor build"
            continue
        assert "auto-setup" not in image, f"{name}: temporalio/auto-setup is deprecated"
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+)+", image), f"{name}: pin a version ({image})"


def test_temporal_server_and_admin_tools_run_the_same_version() -> None:
    server = SERVICES["temporal"]["image"].split(":")[1]
    for job in ("temporal-schema", "temporal-namespace"):
        assert SERVICES[job]["image"] == f"temporalio/admin-tools:{server}"


@pytest.mark.parametrize("database", ["temporal-db", "events-db"])
def test_databases_have_health_checks(database: str) -> None:
    check = SERVICES[database]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(check)


def test_start_order_is_database_schema_server_namespace_then_the_app() -> None:
    assert _depends("temporal-schema") == {"temporal-db": "service_healthy"}
    assert _depends("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert _depends("temporal-namespace") == {"temporal": "service_healthy"}
    assert _depends("temporal-ui") == {"temporal": "service_healthy"}
    for app in ("worker", "web"):
        assert _depends(app) == {
            "temporal-namespace": "service_completed_successfully",
            "events-db": "service_healthy",
        }
    assert "healthcheck" in SERVICES["temporal"]


def test_one_shot_jobs_run_scripts_that_exist_and_set_up_both_schemas() -> None:
    for job, script in (
        ("temporal-schema", "setup-postgres.sh"),
        ("temporal-namespace", "create-namespace.sh"),
    ):
        command = SERVICES[job]["command"]
        assert command == [f"/scripts/{script}"]
        mount = SERVICES[job]["volumes"][0].split(":")[0]
        assert (ROOT / mount / script).is_file()
    setup = (ROOT / "deploy/temporal/setup-postgres.sh").read_text()
    assert "temporal_visibility" in setup and "update-schema" in setup


def test_namespace_job_registers_every_search_attribute_the_workflows_upsert() -> None:
    from workflows.search_attributes import SEARCH_ATTRIBUTES

    script = (ROOT / "deploy/temporal/create-namespace.sh").read_text()
    for key in SEARCH_ATTRIBUTES:
        assert f"{key.name}:" in script


def test_only_the_web_app_is_published_and_temporal_never_is() -> None:
    published = {name for name in SERVICES if _published_ports(name)}
    assert published <= {"web", "temporal-ui"}
    assert _published_ports("web") == ["8000:8000"]
    assert _published_ports("temporal") == []
    for port in _published_ports("temporal-ui"):
        assert port.startswith("127.0.0.1:"), "the Temporal UI must stay on this host"


def test_worker_and_web_reach_temporal_and_the_event_store_inside_the_network() -> None:
    for app in ("worker", "web"):
        env = SERVICES[app]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "@events-db:5432/" in env["EVENT_STORE_URL"]
        assert env["LOG_FORMAT"] == "json"
    assert "healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
