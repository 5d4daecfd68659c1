"""The mail outbox: every email is a row written in the transaction that caused it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class MailStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField()
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=255)
    body_text = fields.TextField()
    body_html = fields.TextField()
    # Stable across retries, so a receiving server can tell a resend from a new message.
    message_id = fields.CharField(max_length=255, unique=True)
    status = fields.CharEnumField(MailStatus, max_length=16, default=MailStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    claimed_at = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, default="")
    # While `sending`: the claim holds until then unless its sender renews it; after
    # that the message goes back to the queue (see `services.outbox`). Nullable, so that
    # adding it works on a database that already holds mail.
    lease_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    # Parts beside the body (a calendar invitation, say): see `services.outbox.Attachment`.
    # Nullable, so that adding it works on a database that already holds mail.
    attachments: Any = fields.JSONField(default=list, null=True)

    class Meta:
        table = "outbox_message"
        ordering = ("-created_at", "-id")
        indexes = (("status", "next_attempt_at"),)
