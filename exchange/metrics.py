"""Numbers for operators: the Prometheus metrics every part of the app updates.

Counters and histograms live in each process. With several web workers, `exchange
serve` points `PROMETHEUS_MULTIPROC_DIR` at a fresh folder before the workers start, and
prometheus-client keeps each worker's values in files there, so whichever worker answers
`/metrics` reports the sum of all of them. What the database knows (the outbox, the
catalogue version) is read at scrape time instead (`render`), once for all workers.

docs/operations.md says what each number means and when it should wake someone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Requests answered in a few milliseconds to the statement limit and beyond.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DB_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "exchange_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "exchange_http_request_duration_seconds",
    "Time to answer a request, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
REQUEST_DB_SECONDS = Histogram(
    "exchange_http_request_database_seconds",
    "Time a request spent waiting for its database statements, by route template",
    ["method", "route"],
    buckets=DB_BUCKETS,
)
REQUESTS_CANCELLED = Counter(
    "exchange_http_requests_cancelled",
    "Requests whose client went away before the answer; their database work was cancelled",
    ["route"],
)
EXPENSIVE_REJECTED = Counter(
    "exchange_expensive_requests_rejected",
    "Expensive requests answered 503 because the worker already ran its limit of them",
    ["kind"],
)
EXPENSIVE_IN_PROGRESS = Gauge(
    "exchange_expensive_requests_in_progress",
    "Expensive requests running now, over all live workers",
    ["kind"],
    multiprocess_mode="livesum",
)
STATEMENT_TIMEOUTS = Counter(
    "exchange_database_statement_timeouts",
    "Database statements stopped at their time limit",
)
LOGINS_THROTTLED = Counter(
    "exchange_logins_throttled",
    "Sign-ins refused because the account or the address is throttled",
)
MATCHES_SERVED = Counter("exchange_matches_served", "Peer rankings served")
INDEX_BUILDS = Counter(
    "exchange_matching_index_builds",
    "Matching index builds, by outcome (ok or failed)",
    ["outcome"],
)
# Labelled, so that a worker that has built no index yet reports nothing (not a zero).
INDEX_BUILT_AT = Gauge(
    "exchange_matching_index_built_timestamp_seconds",
    "When the oldest matching index a live worker serves was built (Unix time)",
    ["index"],
    multiprocess_mode="livemin",
)
INDEX_CATALOGUE_VERSION = Gauge(
    "exchange_matching_index_catalogue_version",
    "The oldest catalogue version a live worker's matching index reflects",
    ["index"],
    multiprocess_mode="livemin",
)
MAIL_SENT = Counter("exchange_mail_sent", "Messages handed to the mail server")
MAIL_ATTEMPTS_FAILED = Counter(
    "exchange_mail_attempts_failed",
    "Delivery attempts that failed, by outcome (retry later, or failed for good)",
    ["outcome"],
)
MAIL_CLAIMS_EXPIRED = Counter(
    "exchange_mail_claims_expired",
    "Messages put back in the queue because their sender stopped renewing its claim",
)


def multiprocess_dir() -> str:
    return os.environ.get(MULTIPROC_ENV, "")


def index_built(catalogue_version: int) -> None:
    """This worker now serves a matching index built from `catalogue_version`."""
    INDEX_BUILT_AT.labels(index="matching").set(time.time())
    INDEX_CATALOGUE_VERSION.labels(index="matching").set(catalogue_version)


def worker_stopped() -> None:
    """Forget this worker's live gauges (its files stay for the counters)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@dataclass
class ScrapeFacts:
    """What the database says at scrape time, read by the metrics route."""

    database_up: bool = True
    outbox: dict[str, int] = field(default_factory=dict)
    oldest_queued_age: float = 0.0
    catalogue_version: int | None = None


class _Facts:
    """A collector for one scrape: the database's numbers, and the index age."""

    def __init__(self, facts: ScrapeFacts, index_built_at: float | None) -> None:
        self.facts = facts
        self.index_built_at = index_built_at

    def collect(self) -> Iterator[Metric]:
        facts = self.facts
        yield _gauge(
            "exchange_database_up",
            "1 when this scrape could read the database, 0 when it could not",
            1.0 if facts.database_up else 0.0,
        )
        outbox = GaugeMetricFamily(
            "exchange_outbox_messages",
            "Messages in the outbox by status: pending (queued), sending (claimed), failed",
            labels=["status"],
        )
        for status, count in sorted(facts.outbox.items()):
            outbox.add_metric([status], count)
        yield outbox
        yield _gauge(
            "exchange_outbox_oldest_queued_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits)",
            facts.oldest_queued_age,
        )
        if facts.catalogue_version is not None:
            yield _gauge(
                "exchange_catalogue_version",
                "The catalogue version in the database (matching indexes follow it)",
                facts.catalogue_version,
            )
        if self.index_built_at is not None:
            yield _gauge(
                "exchange_matching_index_age_seconds",
                "Seconds since the oldest matching index a live worker serves was built",
                max(time.time() - self.index_built_at, 0.0),
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every worker's in multiprocess mode."""
    directory = multiprocess_dir()
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def render(facts: ScrapeFacts) -> bytes:
    """The text exposition of everything: process metrics, then this scrape's facts."""
    registry = process_registry()
    built_at = registry.get_sample_value(
        "exchange_matching_index_built_timestamp_seconds", {"index": "matching"}
    )
    scrape = CollectorRegistry()
    scrape.register(_Facts(facts, built_at))
    return generate_latest(registry) + generate_latest(scrape)
