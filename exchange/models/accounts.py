"""People and their ways in: users, server-side sessions, invitations, resets, throttling."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from exchange.models.cities import City


class Role(StrEnum):
    OFFICIAL = "official"
    STAFF = "staff"
    ADMIN = "admin"


class User(Model):
    id = fields.IntField(primary_key=True)
    # Stored lower-cased, which makes the unique index case-insensitive on both databases.
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=120)
    role = fields.CharEnumField(Role, max_length=16, default=Role.OFFICIAL)
    city: fields.ForeignKeyNullableRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="officials", null=True, on_delete=fields.RESTRICT
    )
    city_id: int | None
    timezone = fields.CharField(max_length=64, default="UTC")
    locale = fields.CharField(max_length=16, default="en")
    # Working hours in the user's own zone, for finding a time to meet: "HH:MM" and the
    # weekdays as digits (0 = Monday). Database defaults let the columns join a table
    # that already has rows.
    work_start = fields.CharField(max_length=5, default="09:00", db_default="09:00")
    work_end = fields.CharField(max_length=5, default="18:00", db_default="18:00")
    work_days = fields.CharField(max_length=7, default="01234", db_default="01234")
    # The private calendar feed's address is derived from this number; resetting the
    # address bumps it, which makes every older address stop working.
    calendar_feed_version = fields.IntField(default=0, db_default=0)
    # Whether the cities this user's city has an exchange with see their email address,
    # and whether a message from an exchange partner is also sent by email.
    share_email = fields.BooleanField(default=False, db_default=False)
    email_on_exchange_message = fields.BooleanField(default=True, db_default=True)
    is_active = fields.BooleanField(default=True)
    # Empty until the person sets a password through their invitation link.
    password_hash = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "user"
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class UserSession(Model):
    """A signed-in browser. The cookie holds a random id, and only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    id_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=255, default="")

    class Meta:
        table = "user_session"


class Invitation(Model):
    """A staff member's invitation to join. The emailed token is stored hashed."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254, db_index=True)
    name = fields.CharField(max_length=120)
    role = fields.CharEnumField(Role, max_length=16)
    city: fields.ForeignKeyNullableRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="invitations", null=True, on_delete=fields.CASCADE
    )
    city_id: int | None
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="invitations_sent", null=True, on_delete=fields.SET_NULL
    )
    invited_by_id: int | None
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"
        ordering = ("-created_at", "-id")


class PasswordReset(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="password_resets", on_delete=fields.CASCADE
    )
    user_id: int
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset"


class LoginAttempt(Model):
    """A password-reset request (kind "reset"), counted to throttle them.

    Kept in the database so that every worker sees the same counts.
    """

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8, default="failure")
    email = fields.CharField(max_length=254)
    ip = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_attempt"
        indexes = (("email", "created_at"), ("ip", "created_at"))


class SignInBudget(Model):
    """How many password checks an account or an address has had lately.

    `key` is `account:<email>` or `address:<ip>`. A check is taken from the budget by one
    conditional UPDATE before the password is verified (see `services/accounts.py`), so
    every worker and process agrees on it.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=320, unique=True)
    checks = fields.IntField(default=0)
    last_check_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sign_in_budget"
