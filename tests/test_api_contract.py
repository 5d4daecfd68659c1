"""The API keeps its contract: schemathesis generates requests from the app's own OpenAPI
document and sends them to the running app with an official's and a staff member's tokens.
No answer may be a server error, and every answer must match the document (status code,
content type and body schema). Bounded and derandomised, so a run is repeatable."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_access_matrix import build_world

from exchange.app import create_app
from exchange.services import tokens
from exchange.settings import Settings

from support import free_port, wait_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 8  # x ~30 operations x 2 roles: a few hundred requests


@dataclass
class Running:
    base_url: str
    headers: dict[str, dict[str, str]]


@pytest.fixture
async def running(clean_db: str, settings: Settings) -> AsyncIterator[Running]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = replace(settings, base_url=base_url)
    world = await build_world(settings)
    headers = {}
    for role in ("requester", "staff"):
        created = await tokens.issue_token(settings, world.users[role].email, "contract", 30)
        headers[role] = {"Authorization": f"Bearer {created.raw}"}
    app = create_app(settings, manage_db=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, 10)
    yield Running(base_url, headers)
    server.should_exit = True
    await task


def exercise(base_url: str, headers: dict[str, str]) -> tuple[dict[str, str], Counter[int]]:
    """Runs in a worker thread (the server answers on the test's event loop)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @seed(20240601)
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=base_url, headers=headers)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except Exception as error:
            failures[operation.label] = str(error)[:2000]
    return failures, statuses


@pytest.mark.parametrize("role", ["requester", "staff"])
async def test_the_api_answers_as_its_document_says(running: Running, role: str) -> None:
    failures, statuses = await asyncio.to_thread(exercise, running.base_url, running.headers[role])
    assert sum(statuses.values()) >= 100, statuses
    assert sum(n for status, n in statuses.items() if status < 300) >= 20, statuses
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
