"""Server-side sessions: the browser holds a random id, the database holds its hash.

A row per signed-in browser means a session can be ended from the server: at sign-out,
and for every browser of a user whose password, role or active flag changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange.models.accounts import User, UserSession
from exchange.services.secrets import hash_token, new_token
from exchange.settings import Settings

# Writing last_seen_at on every request would make each page view a write.
TOUCH_INTERVAL = timedelta(seconds=60)


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
    settings: Settings, raw_id: str, now: datetime | None = None
) -> User | None:
    """The active user behind a session cookie, or None when it is unknown or has expired."""
    if not raw_id:
        return None
    now = now or datetime.now(UTC)
    session = await UserSession.get_or_none(id_hash=hash_token(raw_id)).select_related("user")
    if session is None:
        return None
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    absolute_limit = timedelta(hours=settings.session_absolute_hours)
    expired = now - session.last_seen_at > idle_limit or now - session.created_at > absolute_limit
    if expired or not session.user.is_active:
        await session.delete()
        return None
    if now - session.last_seen_at > TOUCH_INTERVAL:
        await UserSession.filter(id=session.id).update(last_seen_at=now)
    return session.user


async def end_session(raw_id: str) -> None:
    if raw_id:
        await UserSession.filter(id_hash=hash_token(raw_id)).delete()


async def end_all_sessions(user: User) -> int:
    return await UserSession.filter(user_id=user.id).delete()
