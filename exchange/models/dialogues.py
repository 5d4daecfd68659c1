"""Dialogues: sessions that network staff convene, their invitees, polls and answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from exchange.models.accounts import User
from exchange.models.cities import Challenge, City
from exchange.models.matching import PeerExchange


class DialogueFormat(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in-person"
    HYBRID = "hybrid"


class DialogueVisibility(StrEnum):
    PUBLIC = "public"  # listed for everyone, without participant lists or links
    NETWORK = "network"  # any signed-in user
    INVITED = "invited"  # invitees and staff


class DialogueStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class Answer(StrEnum):
    NONE = "none"
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


class Seat(StrEnum):
    """Where an invitee stands: what their answer got them."""

    INVITED = "invited"  # no answer yet
    CONFIRMED = "confirmed"
    WAITING = "waiting"
    DECLINED = "declined"
    MAYBE = "maybe"
    REMOVED = "removed"  # taken off the list by staff: sent a cancellation


class Vote(StrEnum):
    YES = "yes"
    IF_NEED_BE = "if-need-be"
    NO = "no"


class Dialogue(Model):
    """A session: a two-city call or an event with dozens of cities."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    format = fields.CharEnumField(DialogueFormat, max_length=16, default=DialogueFormat.ONLINE)
    host_city: fields.ForeignKeyNullableRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="hosted_dialogues", null=True, on_delete=fields.SET_NULL
    )
    host_city_id: int | None
    venue = fields.CharField(max_length=300, default="")
    online_url = fields.CharField(max_length=500, default="")
    # Stored in UTC; `timezone` is the zone the organiser plans in (the calendar's TZID).
    starts_at = fields.DatetimeField(null=True, db_index=True)
    ends_at = fields.DatetimeField(null=True)
    timezone = fields.CharField(max_length=64, default="UTC")
    capacity = fields.IntField(null=True)  # None: no limit
    seats_taken = fields.IntField(default=0)
    agenda: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    organiser: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="organised_dialogues", null=True, on_delete=fields.SET_NULL
    )
    organiser_id: int | None
    exchange: fields.ForeignKeyNullableRelation[PeerExchange] = fields.ForeignKeyField(
        "exchange.PeerExchange", related_name="dialogues", null=True, on_delete=fields.SET_NULL
    )
    exchange_id: int | None
    visibility = fields.CharEnumField(
        DialogueVisibility, max_length=16, default=DialogueVisibility.INVITED, db_index=True
    )
    status = fields.CharEnumField(
        DialogueStatus, max_length=16, default=DialogueStatus.DRAFT, db_index=True
    )
    # The calendar identity: one UID for the dialogue's life, SEQUENCE up on every change.
    uid = fields.CharField(max_length=128, unique=True)
    sequence = fields.IntField(default=0)
    reminder_hours = fields.IntField(default=24)
    poll_open = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    invitees: fields.ReverseRelation[Invitee]
    slot_options: fields.ReverseRelation[SlotOption]
    challenge_links: fields.ReverseRelation[DialogueChallenge]

    class Meta:
        table = "dialogue"
        ordering = ("starts_at", "id")


class DialogueChallenge(Model):
    """A challenge a dialogue is about, in a table so lists can filter on it."""

    id = fields.IntField(primary_key=True)
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="challenge_links", on_delete=fields.CASCADE
    )
    dialogue_id: int
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "exchange.Challenge", related_name="dialogue_links", on_delete=fields.CASCADE
    )
    challenge_id: int
    position = fields.SmallIntField(default=0)

    class Meta:
        table = "dialogue_challenge"
        unique_together = (("dialogue", "challenge"),)


class Invitee(Model):
    """A person invited to a dialogue: a user, or a guest known only by email."""

    id = fields.IntField(primary_key=True)
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="invitees", on_delete=fields.CASCADE
    )
    dialogue_id: int
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="dialogue_invitations", null=True, on_delete=fields.CASCADE
    )
    user_id: int | None
    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=120, default="")
    # A guest's zone, for the slot finder and the times in their email.
    timezone = fields.CharField(max_length=64, default="UTC")
    answer = fields.CharEnumField(Answer, max_length=8, default=Answer.NONE)
    seat = fields.CharEnumField(Seat, max_length=16, default=Seat.INVITED, db_index=True)
    answered_at = fields.DatetimeField(null=True)
    # The waiting list's order: when the yes arrived.
    waiting_since = fields.DatetimeField(null=True)
    attended = fields.BooleanField(null=True)
    # A participant staff asked to record the dialogue's findings.
    rapporteur = fields.BooleanField(default=False, db_default=False)
    reminded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "dialogue_invitee"
        unique_together = (("dialogue", "email"),)
        ordering = ("created_at", "id")


class SlotOption(Model):
    """A candidate time in a dialogue's poll."""

    id = fields.IntField(primary_key=True)
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="slot_options", on_delete=fields.CASCADE
    )
    dialogue_id: int
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    class Meta:
        table = "dialogue_slot_option"
        ordering = ("starts_at", "id")


class PollVote(Model):
    id = fields.IntField(primary_key=True)
    option: fields.ForeignKeyRelation[SlotOption] = fields.ForeignKeyField(
        "exchange.SlotOption", related_name="votes", on_delete=fields.CASCADE
    )
    option_id: int
    invitee: fields.ForeignKeyRelation[Invitee] = fields.ForeignKeyField(
        "exchange.Invitee", related_name="votes", on_delete=fields.CASCADE
    )
    invitee_id: int
    vote = fields.CharEnumField(Vote, max_length=16)

    class Meta:
        table = "dialogue_poll_vote"
        unique_together = (("option", "invitee"),)
