"""The audit log of security events. It never holds a password or a token."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from exchange.models.accounts import User


class AuditEvent(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(db_index=True)
    event = fields.CharField(max_length=48, db_index=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="audit_events", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    subject: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User",
        related_name="audit_subject_events",
        null=True,
        on_delete=fields.SET_NULL,
    )
    subject_id: int | None
    # The address typed at a failed sign-in, which may belong to no account.
    email = fields.CharField(max_length=254, default="")
    ip = fields.CharField(max_length=64, default="")
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_event"
        ordering = ("-created_at", "-id")
