"""Writing and reading the security audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from exchange.models.accounts import User
from exchange.models.audit import AuditEvent
from exchange.services import permissions
from exchange.services.pagination import Page, paginate


class Event(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    SIGN_OUT = "sign_out"
    INVITATION_SENT = "invitation_sent"
    INVITATION_ACCEPTED = "invitation_accepted"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105
    PASSWORD_RESET = "password_reset"  # noqa: S105
    PASSWORD_CHANGED = "password_changed"  # noqa: S105
    ROLE_CHANGED = "role_changed"
    CITY_CHANGED = "city_changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    USER_CREATED = "user_created"
    MAIL_RESENT = "mail_resent"
    TOKEN_CREATED = "token_created"  # noqa: S105
    SESSION_ENDED = "session_ended"
    ACCOUNT_DELETED = "account_deleted"
    # Circles: recorded with ids only (detail {"circle": id}), never a circle's name, what
    # was said in it or a check-in.
    CIRCLE_CREATED = "circle_created"
    CIRCLE_INVITED = "circle_invited"
    CIRCLE_JOIN_REQUESTED = "circle_join_requested"
    CIRCLE_JOIN_APPROVED = "circle_join_approved"
    CIRCLE_JOIN_DECLINED = "circle_join_declined"
    CIRCLE_JOINED = "circle_joined"
    CIRCLE_AGREEMENT_ACCEPTED = "circle_agreement_accepted"
    CIRCLE_LEFT = "circle_left"
    CIRCLE_REMOVED = "circle_removed"
    CIRCLE_FACILITATOR_NAMED = "circle_facilitator_named"


async def record(
    event: Event,
    *,
    actor: User | None = None,
    subject: User | None = None,
    email: str = "",
    ip: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event. Callers pass facts only: never a password or a token."""
    return await AuditEvent.create(
        created_at=datetime.now(UTC),
        event=event.value,
        actor=actor,
        subject=subject,
        email=email,
        ip=ip,
        detail=detail or {},
    )


async def list_events(
    viewer: User, page: int, user_id: int | None = None, event: str = ""
) -> Page[AuditEvent]:
    permissions.require(permissions.can_read_audit_log(viewer))
    query: QuerySet[AuditEvent] = AuditEvent.all().select_related("actor", "subject")
    if user_id is not None:
        query = query.filter(Q(actor_id=user_id) | Q(subject_id=user_id))
    if event:
        query = query.filter(event=event)
    return await paginate(query.order_by("-created_at", "-id"), page, per_page=50)
