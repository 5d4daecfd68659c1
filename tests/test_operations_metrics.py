"""Numbers for operators: /metrics, and request ids in headers, error pages and logs."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.routing import Route

from exchange import logs
from exchange.app import create_app
from exchange.domain.matching import MatchQuery
from exchange.models.accounts import Role
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import catalogue_version, matching, outbox, tokens
from exchange.settings import Settings

from matching_data import load_catalogue
from support import PASSWORD, free_port, make_user, post_form

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("clean_db")


def client_from(settings: Settings, host: str) -> httpx.AsyncClient:
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://exchange.test")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def test_requests_are_counted_by_route_with_latency_and_database_time(
    settings: Settings,
) -> None:
    async with client_from(settings, "127.0.0.1") as http:
        before = await scrape(http)
        for _ in range(2):
            assert (await http.get("/library?q=trauma")).status_code == 200
        assert (await http.get("/cities/no-such-city-xyz")).status_code == 404
        response = await http.get("/metrics")
        after = samples(response.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "GET", "route": "/library"}
    assert grew("exchange_http_requests_total", **ok, status="200") == 2
    assert grew("exchange_http_request_duration_seconds_count", **ok) == 2
    assert grew("exchange_http_request_database_seconds_count", **ok) == 2
    assert grew("exchange_http_request_database_seconds_sum", **ok) > 0
    assert grew("exchange_http_request_duration_seconds_bucket", **ok, le="+Inf") == 2
    missing = {"method": "GET", "route": "/cities/{key}", "status": "404"}
    assert grew("exchange_http_requests_total", **missing) == 1
    # Routes are named by their template: nothing a visitor typed reaches the metrics.
    assert "no-such-city-xyz" not in response.text


async def test_the_outbox_and_its_oldest_queued_message(settings: Settings) -> None:
    context = {"name": "P", "inviter": "S", "city": "", "link": "x", "expires_days": 7}
    queued = [
        await outbox.queue_email(
            settings,
            to=f"p{i}@example.org",
            locale="en",
            subject="You are invited to Exchange",
            template="invitation",
            context=context,
        )
        for i in range(4)
    ]
    await OutboxMessage.filter(id=queued[0].id).update(
        created_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    await OutboxMessage.filter(id=queued[1].id).update(status=MailStatus.FAILED)
    await OutboxMessage.filter(id=queued[2].id).update(status=MailStatus.SENDING)
    async with client_from(settings, "127.0.0.1") as http:
        found = await scrape(http)
    assert value(found, "exchange_database_up") == 1
    assert value(found, "exchange_outbox_messages", status="pending") == 2
    assert value(found, "exchange_outbox_messages", status="sending") == 1
    assert value(found, "exchange_outbox_messages", status="failed") == 1
    assert 600 <= value(found, "exchange_outbox_oldest_queued_age_seconds") < 700


async def test_throttled_logins_matches_and_the_index(settings: Settings) -> None:
    catalogue = await load_catalogue()
    async with client_from(settings, "127.0.0.1") as http:
        before = await scrape(http)
        for _ in range(5):
            await post_form(http, "/login", {"email": catalogue.lviv.email, "password": "no" * 6})
        blocked = await post_form(
            http, "/login", {"email": catalogue.lviv.email, "password": PASSWORD}
        )
        assert blocked.status_code == 429
        query = MatchQuery(
            city_key="lviv-ua", challenges=("post-attack-recovery",), text="recovery", limit=3
        )
        assert await matching.rank(query)
        after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("exchange_logins_throttled_total") == 1
    assert grew("exchange_matches_served_total") == 1
    assert grew("exchange_matching_index_builds_total", outcome="ok") == 1
    assert 0 <= value(after, "exchange_matching_index_age_seconds") < 60
    version = await catalogue_version.current()
    assert value(after, "exchange_catalogue_version") == version
    assert value(after, "exchange_matching_index_catalogue_version", index="matching") == version


async def test_metrics_need_loopback_or_an_administrator(settings: Settings) -> None:
    await make_user("ada@example.org", Role.ADMIN)
    await make_user("o@example.org", Role.OFFICIAL)
    admin = (await tokens.issue_token(settings, "ada@example.org", "prometheus", 30)).raw
    official = (await tokens.issue_token(settings, "o@example.org", "mine", 30)).raw
    async with client_from(settings, "203.0.113.7") as remote:
        refused = await remote.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        as_official = await remote.get("/metrics", headers={"Authorization": f"Bearer {official}"})
        assert as_official.status_code == 403
        as_admin = await remote.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
        assert as_admin.status_code == 200 and "exchange_http_requests_total" in as_admin.text
    async with client_from(settings, "127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 200
        # Through a proxy on the same machine, a request is not the machine's own.
        proxied = await local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"})
        assert proxied.status_code == 401


async def boom(request: Request) -> None:
    raise RuntimeError("secret internal detail")


async def test_a_request_id_in_the_header_the_error_page_and_every_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, manage_db=False)
    app.router.routes.insert(0, Route("/boom", boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(transport=transport, base_url="http://exchange.test") as http:
        missing = await http.get("/no/such/page", headers={"Accept-Language": "fr"})
        failed = await http.get("/boom")
    missing_id, failed_id = missing.headers["x-request-id"], failed.headers["x-request-id"]
    assert missing_id != failed_id
    assert "identifiant de requête" in missing.text and missing_id in missing.text
    assert failed.status_code == 500 and failed_id in failed.text
    assert "secret internal detail" not in failed.text

    access = {r.request_id: r for r in caplog.records if r.name == "exchange.access"}
    assert access[missing_id].status == 404 and access[missing_id].route == "(no route)"
    assert access[failed_id].status == 500 and access[failed_id].route == "/boom"
    [error] = [r for r in caplog.records if r.name == "exchange.web" and r.exc_info]
    assert error.request_id == failed_id

    line = json.loads(logs.JsonFormatter().format(access[missing_id]))
    assert line["request_id"] == missing_id and line["logger"] == "exchange.access"
    assert {"method", "route", "status", "duration_ms", "db_ms", "time", "level"} <= set(line)
    assert json.loads(logs.JsonFormatter().format(error))["error"].startswith("Traceback")
    assert f"[request {failed_id}]" in logs.TextFormatter().format(error)


def test_two_workers_report_every_request_and_log_json_lines(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("several workers need PostgreSQL")
    port = free_port()
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
        "EXCHANGE_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "exchange", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        time.sleep(1.0)  # the second worker
        healthz = {"method": "GET", "route": "/healthz", "status": "200"}
        before = value(
            samples(httpx.get(f"{base}/metrics").text), "exchange_http_requests_total", **healthz
        )
        for _ in range(20):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        # Whichever worker answers the scrape reports the requests of both.
        for _ in range(6):
            found = samples(httpx.get(f"{base}/metrics", timeout=5).text)
            assert value(found, "exchange_http_requests_total", **healthz) == before + 20
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "exchange.access"]
    assert len(access) >= 27 and all(len(line["request_id"]) == 16 for line in access)
    # uvicorn's own lines are JSON too.
    assert any("Application startup complete" in line["message"] for line in lines)
