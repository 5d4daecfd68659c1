"""Server-side sessions: the browser holds a random id, the database holds its hash.

A row per signed-in browser means a session can be ended from the server: at sign-out,
for every browser of a user whose password, role or active flag changes, and by the
person themselves from the sessions list in their settings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet

from exchange.domain.user_agents import describe
from exchange.models.accounts import User, UserSession
from exchange.services import audit, errors
from exchange.services.audit import Event
from exchange.services.committed_state import KeptUnderState
from exchange.services.secrets import hash_token, new_token
from exchange.settings import Settings

# Writing last_seen_at on every request would make each page view a write.
TOUCH_INTERVAL = timedelta(seconds=60)

# Sessions as read under the latest committed state: one per browser reading now.
_sessions: KeptUnderState[str, UserSession] = KeptUnderState(max_items=10_000)


async def start_session(user: User, ip: str = "", user_agent: str = "") -> str:
    """Create a session and return the raw id for the cookie (a new one every sign-in)."""
    raw, hashed = new_token()
    now = datetime.now(UTC)
    await UserSession.create(
        id_hash=hashed,
        user=user,
        created_at=now,
        last_seen_at=now,
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    return raw


async def user_for_session(
    settings: Settings, raw_id: str, now: datetime | None = None, state: str | None = None
) -> User | None:
    """The active user behind a session cookie, or None when it is unknown or has expired.

    `state`: the committed state the request named before asking (`committed_state`);
    the session row is then read once per state, not once per request.
    """
    if not raw_id:
        return None
    now = now or datetime.now(UTC)
    id_hash = hash_token(raw_id)
    session = _sessions.get(state, id_hash)
    if session is None:
        session = await UserSession.get_or_none(id_hash=id_hash).select_related("user")
        if session is None:
            return None
        _sessions.keep(state, id_hash, session)
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    absolute_limit = timedelta(hours=settings.session_absolute_hours)
    expired = now - session.last_seen_at > idle_limit or now - session.created_at > absolute_limit
    if expired or not session.user.is_active:
        await UserSession.filter(id=session.id).delete()
        return None
    if now - session.last_seen_at > TOUCH_INTERVAL:
        await UserSession.filter(id=session.id).update(last_seen_at=now)
    # A copy: the request may change its user (a form filled in), and the kept one must
    # stay as read.
    return copy.copy(session.user)


async def end_session(raw_id: str) -> None:
    if raw_id:
        await UserSession.filter(id_hash=hash_token(raw_id)).delete()


async def end_all_sessions(user: User) -> int:
    return await UserSession.filter(user_id=user.id).delete()


# The user's own sessions, for the sessions list in settings.


@dataclass(frozen=True)
class SessionView:
    session: UserSession
    browser: str
    system: str
    current: bool


def _live(user: User, settings: Settings, now: datetime) -> QuerySet[UserSession]:
    return UserSession.filter(
        user_id=user.id,
        last_seen_at__gt=now - timedelta(minutes=settings.session_idle_minutes),
        created_at__gt=now - timedelta(hours=settings.session_absolute_hours),
    )


async def list_sessions(settings: Settings, user: User, current_raw: str) -> list[SessionView]:
    """The user's live sessions, this browser's first, then the most recently seen."""
    current_hash = hash_token(current_raw) if current_raw else ""
    rows = await _live(user, settings, datetime.now(UTC)).order_by("-last_seen_at", "-id")
    views = [
        SessionView(row, *describe(row.user_agent), current=row.id_hash == current_hash)
        for row in rows
    ]
    return sorted(views, key=lambda view: not view.current)


async def end_own_session(user: User, session_id: int, ip: str = "") -> None:
    """End one of the user's sessions; someone else's is not found."""
    ended = await UserSession.filter(id=session_id, user_id=user.id).delete()
    if not ended:
        raise errors.NotFound
    await audit.record(Event.SESSION_ENDED, actor=user, subject=user, ip=ip, detail={"sessions": 1})


async def end_other_sessions(user: User, current_raw: str, ip: str = "") -> int:
    """End every session of the user but this browser's."""
    others = UserSession.filter(user_id=user.id)
    if current_raw:
        others = others.exclude(id_hash=hash_token(current_raw))
    ended = await others.delete()
    if ended:
        await audit.record(
            Event.SESSION_ENDED, actor=user, subject=user, ip=ip, detail={"sessions": ended}
        )
    return ended
