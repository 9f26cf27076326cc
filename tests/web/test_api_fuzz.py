"""Schema-driven fuzzing of the REST API: every operation of the published OpenAPI document is
sent requests generated from that document (schemathesis), in process against the ASGI app with
a real worker on a Temporal test server, as each demo user. No answer may be a server error, and
every answer must be one the document declares, in the declared content type and body shape.

``JY231_FUZZ_EXAMPLES`` sets the examples per operation and user (default 3, a bounded run);
``JY231_FUZZ_SEED`` changes the otherwise fixed seed, to explore further.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from system.gateway import StudyGateway
from tests.web.conftest import ClientFor
from tests.web.test_api import registered

EXAMPLES = int(os.environ.get("JY231_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("JY231_FUZZ_SEED", "9"))
# One of each role: the coordinator, investigator, PI and read-only monitor.
USERS = {"cora": "coordinator", "ivan": "investigator", "petra": "pi", "mona": "monitor"}
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# Generous: a command may wait for its workflow on a loaded machine.
REQUEST_TIMEOUT_S = 120.0


def _no_server_error(response: httpx.Response) -> str | None:
    """503 is the documented answer for an unavailable dependency, and must say when to retry;
    any other 5xx is a fault."""
    if response.status_code == 503 and "retry-after" in response.headers:
        return None
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:300]}"
    return None


async def _send(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response:
    content = kwargs.get("data")
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        content=content.encode() if isinstance(content, str) else content,
        timeout=REQUEST_TIMEOUT_S,
    )


def _fuzz_operation(
    operation: Any,
    send: Callable[[dict[str, Any]], httpx.Response],
    known_subject: str,
    statuses: Counter[int],
) -> str | None:
    """Runs the generated requests of one operation; the first failure found, or None."""
    found: list[str] = []
    # Data that fits the schema and data that breaks it, in equal measure.
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES * len(USERS),
        deadline=None,
        database=None,
        # Shrinking would resend many commands; the first failing request is reported as is.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, user=st.sampled_from(sorted(USERS)), known=st.booleans())
    def run(case: Any, user: str, known: bool) -> None:
        if found:
            return
        if known and case.path_parameters and "subject_id" in case.path_parameters:
            # Half the requests name a registered subject, so they reach past the 404.
            case.path_parameters["subject_id"] = known_subject
        kwargs = case.as_transport_kwargs(base_url="http://test", headers={"X-Fuzz-User": user})
        response = send(kwargs)
        statuses[response.status_code] += 1
        problem = _no_server_error(response)
        if problem is None:
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as exc:  # names each failed check, with the request to repeat
                problem = str(exc)
        if problem is not None:
            found.append(f"{operation.label} as {user}:\n{problem}\n{kwargs}")

    run()
    return found[0] if found else None


def test_every_api_operation_documents_its_error_answers(app: FastAPI) -> None:
    spec = app.openapi()
    operations = [
        (method, path, op)
        for path, ops in spec["paths"].items()
        if path.startswith("/api")
        for method, op in ops.items()
    ]
    assert len(operations) > 30
    for method, path, op in operations:
        assert {"401", "403", "404", "409", "422", "503"} <= set(op["responses"]), (method, path)
        body = op["responses"]["422"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ValidationBody"}, (method, path)
    field_error = spec["components"]["schemas"]["FieldError"]
    assert set(field_error["required"]) == {"field", "rule", "msg"}


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(client_for: ClientFor) -> None:
    response = await client_for("cora").post(
        "/api/study/reviews", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body"
    assert response.json()["detail"][0]["rule"] == "json_invalid"


@pytest.mark.slow
async def test_generated_requests_get_no_server_error_and_only_documented_answers(
    app: FastAPI,
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    study: StudyGateway,
    subject_id: str,
) -> None:
    await study.start()
    await registered(client_for, time_env, subject_id)
    security = app.state.ctx.security
    tokens = {name: security.create_token(name, role, "fuzz") for name, role in USERS.items()}
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    loop = asyncio.get_running_loop()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:

        def send(kwargs: dict[str, Any]) -> httpx.Response:
            headers = dict(kwargs.get("headers") or {})
            user = headers.pop("X-Fuzz-User")
            headers["Authorization"] = f"Bearer {tokens[user]}"
            call = _send(client, {**kwargs, "headers": headers})
            return asyncio.run_coroutine_threadsafe(call, loop).result(REQUEST_TIMEOUT_S + 10)

        # Hypothesis runs in a thread; the requests and the worker run on this test's loop.
        statuses: Counter[int] = Counter()
        failures = [
            failure
            for operation in operations
            if (
                failure := await asyncio.to_thread(
                    _fuzz_operation, operation, send, subject_id, statuses
                )
            )
        ]
    print(f"{sum(statuses.values())} requests over {len(operations)} operations:", statuses)
    assert failures == [], "\n\n".join(failures)
    # The generated requests reached past authentication into the handlers.
    assert statuses[200] + statuses[201] > 0 and statuses[422] > 0
