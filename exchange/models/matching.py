"""Peer matching: match requests, peer invitations, exchanges, their timeline, notices
and the personal access tokens API clients sign in with."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from exchange.models.accounts import User
from exchange.models.cities import City


class ExchangeFormat(StrEnum):
    ONLINE = "online"
    IN_PERSON_VISIT = "in-person-visit"
    STUDY_VISIT = "study-visit"


class RequestStatus(StrEnum):
    OPEN = "open"  # waiting for someone to invite (more) peers
    INVITING = "inviting"  # invitations are out and unanswered
    MATCHED = "matched"  # as many peers accepted as were wanted
    CLOSED = "closed"  # done: every exchange concluded, or closed by hand
    WITHDRAWN = "withdrawn"  # the requester gave up before a match


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class DeclineReason(StrEnum):
    """Why a city declined an invitation; the ranking reads it (docs/matching.md)."""

    NO_CAPACITY = "no-capacity"  # ranks lower for a while only
    NOT_OUR_EXPERIENCE = "not-our-experience"  # ranks lower for the request's challenges
    TIMING = "timing"
    OTHER = "other"


class ExchangeStatus(StrEnum):
    ACTIVE = "active"
    CONCLUDED = "concluded"


class MatchRequest(Model):
    """A city's ask for peers that have lived through the same challenge."""

    id = fields.IntField(primary_key=True)
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="match_requests", on_delete=fields.CASCADE
    )
    city_id: int
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="match_requests", null=True, on_delete=fields.SET_NULL
    )
    requested_by_id: int | None
    challenges: fields.JSONField[list[str]] = fields.JSONField(default=list)
    description = fields.TextField(default="")
    languages: fields.JSONField[list[str]] = fields.JSONField(default=list)
    regions: fields.JSONField[list[str]] = fields.JSONField(default=list)
    format = fields.CharEnumField(ExchangeFormat, max_length=20, default=ExchangeFormat.ONLINE)
    time_frame = fields.CharField(max_length=200, default="")
    peers_wanted = fields.SmallIntField(default=1)
    # When an invitation is declined or expires, invite the next-ranked peer not yet invited.
    auto_fallback = fields.BooleanField(default=False, db_default=False)
    status = fields.CharEnumField(
        RequestStatus, max_length=16, default=RequestStatus.OPEN, db_index=True
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    invitations: fields.ReverseRelation[PeerInvitation]
    exchanges: fields.ReverseRelation[PeerExchange]
    events: fields.ReverseRelation[RequestEvent]

    class Meta:
        table = "match_request"
        ordering = ("-created_at", "-id")


class PeerInvitation(Model):
    """A candidate city asked to help with a match request."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[MatchRequest] = fields.ForeignKeyField(
        "exchange.MatchRequest", related_name="invitations", on_delete=fields.CASCADE
    )
    request_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="peer_invitations", on_delete=fields.CASCADE
    )
    city_id: int
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User",
        related_name="peer_invitations_sent",
        null=True,
        on_delete=fields.SET_NULL,
    )
    invited_by_id: int | None
    answered_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User",
        related_name="peer_invitations_answered",
        null=True,
        on_delete=fields.SET_NULL,
    )
    answered_by_id: int | None
    status = fields.CharEnumField(
        InvitationStatus, max_length=16, default=InvitationStatus.PENDING, db_index=True
    )
    score = fields.FloatField(null=True)
    # Why the city was proposed when it was invited: the ranking's reasons as codes with
    # their facts ([{"code", "params"}], see `services/reasons.py`), written in the
    # reader's words when shown. Null for invitations sent before they were kept.
    match_reasons: fields.JSONField[list[dict[str, Any]]] | None = fields.JSONField(null=True)
    reason = fields.TextField(default="")
    decline_reason = fields.CharEnumField(DeclineReason, max_length=24, null=True)
    # Place in the ranked candidates when invited (1 = first), null when not among them.
    rank = fields.SmallIntField(null=True)
    # Set when staff invited past a higher-ranked candidate or outside the list.
    override_reason = fields.TextField(default="", db_default="")
    # True when the automatic fallback sent it, not a person.
    automatic = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "peer_invitation"
        unique_together = (("request", "city"),)
        ordering = ("-created_at", "-id")


class PeerExchange(Model):
    """An accepted pairing. While active it holds one unit of the mentor's capacity."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[MatchRequest] = fields.ForeignKeyField(
        "exchange.MatchRequest", related_name="exchanges", on_delete=fields.CASCADE
    )
    request_id: int
    invitation: fields.OneToOneNullableRelation[PeerInvitation] = fields.OneToOneField(
        "exchange.PeerInvitation", related_name="exchange", null=True, on_delete=fields.SET_NULL
    )
    invitation_id: int | None
    mentor: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="exchanges_as_mentor", on_delete=fields.CASCADE
    )
    mentor_id: int
    mentee: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="exchanges_as_mentee", on_delete=fields.CASCADE
    )
    mentee_id: int
    status = fields.CharEnumField(
        ExchangeStatus, max_length=16, default=ExchangeStatus.ACTIVE, db_index=True
    )
    messages: fields.ReverseRelation[ExchangeMessage]
    # Feedback from each side: a rating 1..5 and what was learned.
    mentee_rating = fields.SmallIntField(null=True)
    mentee_learned = fields.TextField(default="")
    mentor_rating = fields.SmallIntField(null=True)
    mentor_learned = fields.TextField(default="")
    created_at = fields.DatetimeField()
    concluded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "peer_exchange"
        ordering = ("-created_at", "-id")


class ExchangeMessage(Model):
    """A message on the thread between the two cities of an exchange, in Markdown."""

    id = fields.IntField(primary_key=True)
    exchange: fields.ForeignKeyRelation[PeerExchange] = fields.ForeignKeyField(
        "exchange.PeerExchange", related_name="messages", on_delete=fields.CASCADE
    )
    exchange_id: int
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="exchange_messages", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    # The city the author wrote for (staff write for neither, and this stays empty).
    city: fields.ForeignKeyNullableRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="exchange_messages", null=True, on_delete=fields.SET_NULL
    )
    city_id: int | None
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "exchange_message"
        ordering = ("created_at", "id")


class RequestEvent(Model):
    """One entry of a match request's timeline. `message` is an untranslated template."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation[MatchRequest] = fields.ForeignKeyField(
        "exchange.MatchRequest", related_name="events", on_delete=fields.CASCADE
    )
    request_id: int
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="request_events", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    kind = fields.CharField(max_length=32)
    message = fields.CharField(max_length=255)
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "match_request_event"
        ordering = ("created_at", "id")


class Notice(Model):
    """An in-app notice for one user. `message` is an untranslated template."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="notices", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharField(max_length=32)
    message = fields.CharField(max_length=255)
    params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    link = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notice"
        ordering = ("-created_at", "-id")
        indexes = (("user_id", "read_at"),)


class PersonalAccessToken(Model):
    """A user's token for the JSON API. Only the SHA-256 of the token is stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="access_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    # Chosen at creation. Null only on rows older than expiry (migration 0007 filled
    # those in); a token without an expiry does not work.
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "personal_access_token"
        ordering = ("-created_at", "-id")


class AvailabilityVersion(Model):
    """One row whose number goes up whenever capacity use or peer history changes.

    Matching reads fresh capacity and history when it moves, without rebuilding the
    text index, so every worker ranks on current availability.
    """

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "availability_version"
