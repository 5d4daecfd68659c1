"""Removing rows that have done their job: stale sign-in counters, ended sessions, dead links.

Nothing here is history anyone reads (the audit log keeps that); these rows only slow
lookups and, for sessions and links, would be one more thing to guard.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from exchange.models.accounts import (
    Invitation,
    LoginAttempt,
    PasswordReset,
    SignInBudget,
    UserSession,
)
from exchange.services.periodic import repeat
from exchange.settings import Settings

log = logging.getLogger("exchange.housekeeping")

# Longer than any window that counts these rows (sign-in budgets: 15 min, resets: 1 hour).
ATTEMPT_RETENTION = timedelta(days=1)
# Dead links are kept a while so "this link no longer works" stays true, not "unknown".
LINK_RETENTION = timedelta(days=30)


async def purge_stale(settings: Settings, now: datetime | None = None) -> int:
    """Delete what can no longer matter; return how many rows went."""
    now = now or datetime.now(UTC)
    idle = timedelta(minutes=settings.session_idle_minutes)
    absolute = timedelta(hours=settings.session_absolute_hours)
    removed = await LoginAttempt.filter(created_at__lt=now - ATTEMPT_RETENTION).delete()
    removed += await SignInBudget.filter(last_check_at__lt=now - ATTEMPT_RETENTION).delete()
    removed += await UserSession.filter(
        Q(last_seen_at__lt=now - idle) | Q(created_at__lt=now - absolute)
    ).delete()
    removed += await PasswordReset.filter(expires_at__lt=now - LINK_RETENTION).delete()
    removed += await Invitation.filter(
        accepted_at__isnull=True, expires_at__lt=now - LINK_RETENTION
    ).delete()
    return removed


async def run_housekeeping(
    settings: Settings, stop: asyncio.Event, interval: float = 3600.0
) -> None:
    """Purge every `interval` seconds until `stop` is set. Safe with several runners."""

    async def purge() -> None:
        removed = await purge_stale(settings)
        if removed:
            log.info("Removed %s stale rows", removed)

    await repeat(purge, stop, interval, log, "Housekeeping")
