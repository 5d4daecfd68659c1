"""Each user's private calendar feed: their dialogues and circle meetings, subscribable
from any calendar.

The address holds a token derived from the server's secret, the user's id and a number
the user can bump from their settings, so nothing secret is stored and a reset makes
every older address stop working at once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from exchange.domain.calendar import feed_ics
from exchange.models.accounts import User
from exchange.models.dialogues import Dialogue, DialogueStatus, Seat
from exchange.services import circle_meetings, permissions
from exchange.services.dialogue_mail import calendar_event, personal_link
from exchange.services.errors import NotFound
from exchange.settings import Settings

# Dialogues that ended longer ago than this drop out of the feed.
FEED_HISTORY = timedelta(days=180)


def _signature(settings: Settings, user_id: int, version: int) -> str:
    message = f"calendar-feed:{user_id}:{version}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:40]


def feed_token(settings: Settings, user: User) -> str:
    return f"{user.id}-{_signature(settings, user.id, user.calendar_feed_version)}"


def feed_path(settings: Settings, user: User) -> str:
    return f"/calendar/{feed_token(settings, user)}.ics"


async def reset_feed(user: User) -> None:
    """A new address; the old one stops working."""
    permissions.require(permissions.is_signed_in(user))
    await User.filter(id=user.id).update(calendar_feed_version=F("calendar_feed_version") + 1)
    user.calendar_feed_version += 1


async def user_for_feed(settings: Settings, token: str) -> User:
    user_id, _, signature = token.partition("-")
    if not user_id.isdigit() or len(user_id) > 9:
        raise NotFound
    user = await User.get_or_none(id=int(user_id), is_active=True)
    if user is None or not hmac.compare_digest(
        signature, _signature(settings, user.id, user.calendar_feed_version)
    ):
        raise NotFound
    return user


async def feed(settings: Settings, token: str, now: datetime | None = None) -> bytes:
    """The user's dialogues as an iCalendar feed (PUBLISH, no attendee list)."""
    user = await user_for_feed(settings, token)
    now = now or datetime.now(UTC)
    dialogues = (
        await Dialogue.filter(
            invitees__user_id=user.id,
            invitees__seat__in=(Seat.INVITED, Seat.CONFIRMED, Seat.WAITING, Seat.MAYBE),
            status__in=(DialogueStatus.SCHEDULED, DialogueStatus.HELD, DialogueStatus.CANCELLED),
            ends_at__gte=now - FEED_HISTORY,
        )
        .prefetch_related("invitees")
        .order_by("starts_at", "id")
    )
    events = []
    for dialogue in dialogues:
        own = next(i for i in dialogue.invitees if i.user_id == user.id)
        link = settings.base_url + personal_link(settings, own)
        organiser = await User.get_or_none(id=dialogue.organiser_id)
        cancelled = dialogue.status == DialogueStatus.CANCELLED
        events.append(calendar_event(settings, dialogue, organiser, [], link, cancelled))
    # Circle meetings of the circles the user is in now, as bare as their invitations.
    events += await circle_meetings.feed_events(settings, user, now - FEED_HISTORY)
    return feed_ics(events, "Exchange")
