"""Housekeeping removes rows that can no longer matter, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange.models.accounts import (
    Invitation,
    LoginAttempt,
    PasswordReset,
    Role,
    SignInBudget,
    UserSession,
)
from exchange.services import housekeeping, sessions
from exchange.services.secrets import hash_token
from exchange.settings import Settings

from support import make_user


async def test_purge_keeps_what_still_counts(clean_db: str, settings: Settings) -> None:
    now = datetime.now(UTC)
    user = await make_user("o@example.org", Role.STAFF)
    await LoginAttempt.create(kind="reset", email="a", ip="1", created_at=now - timedelta(days=2))
    await LoginAttempt.create(kind="reset", email="b", ip="", created_at=now - timedelta(minutes=5))
    await SignInBudget.create(key="account:a", checks=5, last_check_at=now - timedelta(days=2))
    await SignInBudget.create(key="account:b", checks=5, last_check_at=now - timedelta(minutes=5))
    live = await sessions.start_session(user)
    stale = await sessions.start_session(user)
    await UserSession.filter(id_hash__not=hash_token(live)).update(
        last_seen_at=now - timedelta(hours=1)
    )
    for age, used in ((timedelta(days=40), None), (timedelta(days=2), None)):
        await PasswordReset.create(
            token_hash=f"r{age.days}",
            user=user,
            created_at=now - age,
            expires_at=now - age + timedelta(hours=1),
            used_at=used,
        )
    for days, accepted in ((45, None), (45, now - timedelta(days=44)), (1, None)):
        await Invitation.create(
            token_hash=f"i{days}{accepted is None}",
            email=f"n{days}@example.org",
            name="N",
            role=Role.OFFICIAL,
            created_at=now - timedelta(days=days),
            expires_at=now - timedelta(days=days) + timedelta(days=7),
            accepted_at=accepted,
        )

    removed = await housekeeping.purge_stale(settings, now)

    assert removed == 5
    assert await LoginAttempt.all().values_list("email", flat=True) == ["b"]
    assert await SignInBudget.all().values_list("key", flat=True) == ["account:b"]
    assert await sessions.user_for_session(settings, live) is not None
    assert await sessions.user_for_session(settings, stale) is None
    assert await PasswordReset.all().values_list("token_hash", flat=True) == ["r2"]
    # Accepted invitations are history; recent dead ones still explain themselves.
    assert await Invitation.all().count() == 2
