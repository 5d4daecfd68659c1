"""What the database says about the system's health, read at each `/metrics` scrape."""

from __future__ import annotations

import logging

from exchange import metrics
from exchange.services import catalogue_version, outbox

log = logging.getLogger("exchange.monitoring")


async def scrape_facts() -> metrics.ScrapeFacts:
    """The outbox and the catalogue version; `database_up` is false if they cannot be
    read (the rest of the metrics still answer)."""
    try:
        queue = await outbox.queue_figures()
        version = await catalogue_version.current()
    except Exception:  # the scrape must answer even when the database does not
        log.warning("The metrics could not read the database", exc_info=True)
        return metrics.ScrapeFacts(database_up=False)
    return metrics.ScrapeFacts(
        database_up=True,
        outbox={"pending": queue.pending, "sending": queue.sending, "failed": queue.failed},
        oldest_queued_age=queue.oldest_pending_age,
        catalogue_version=version,
    )
