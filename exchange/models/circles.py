"""Circles: closed well-being peer groups, their members, discussion, check-ins, meetings.

Nothing in these tables is for anyone but a circle's current members: who may see what is
decided in `services/visibility.py`, which gives staff and admins no override here.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from exchange.models.accounts import User


class CircleKind(StrEnum):
    LISTED = "listed"  # name and purpose shown to signed-in users, who may ask to join
    UNLISTED = "unlisted"  # known only to its members


class CheckInPeriod(StrEnum):
    """The fixed calendar period a circle's check-ins are summarised by, chosen once."""

    WEEK = "week"
    MONTH = "month"


class MembershipState(StrEnum):
    INVITED = "invited"  # a place is held: invited, or a request approved
    REQUESTED = "requested"  # asked to join a listed circle, no place yet
    ACTIVE = "active"  # accepted the agreement (a member while it is the current version)
    LEFT = "left"
    REMOVED = "removed"
    DECLINED = "declined"  # a request a facilitator turned down


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Circle(Model):
    """A closed peer group. Its creator is not recorded: staff who are not members see
    only what any non-member sees."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    purpose = fields.TextField(default="")
    kind = fields.CharEnumField(CircleKind, max_length=16, default=CircleKind.UNLISTED)
    cap = fields.IntField(default=12)
    # Places held (invited or active), taken by one conditional UPDATE below the cap.
    seats_taken = fields.IntField(default=0)
    agreement_text = fields.TextField(default="")
    agreement_version = fields.IntField(default=1)
    support_resources = fields.TextField(default="")
    # Check-in summaries: the zone and kind of period are fixed at creation, since
    # re-cutting the same check-ins another way would let two summaries be compared.
    timezone = fields.CharField(max_length=64, default="UTC")
    checkin_period = fields.CharEnumField(CheckInPeriod, max_length=8, default=CheckInPeriod.WEEK)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "circle"
        ordering = ("name", "id")


class CircleMembership(Model):
    """One person's place in a circle, from invitation or request to leaving."""

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "exchange.Circle", related_name="memberships", on_delete=fields.CASCADE
    )
    circle_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="circle_memberships", on_delete=fields.CASCADE
    )
    user_id: int
    state = fields.CharEnumField(MembershipState, max_length=16, db_index=True)
    is_facilitator = fields.BooleanField(default=False)
    # The agreement version this person accepted (0: none yet) and when.
    agreement_version = fields.IntField(default=0)
    agreement_accepted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    joined_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    # "Something new" mail goes out once until the member has looked again.
    last_seen_at = fields.DatetimeField(null=True)
    notified_at = fields.DatetimeField(null=True)

    class Meta:
        table = "circle_membership"
        unique_together = (("circle", "user"),)
        ordering = ("created_at", "id")


class CircleThread(Model):
    """A discussion thread. Its opening words are its first post."""

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "exchange.Circle", related_name="threads", on_delete=fields.CASCADE
    )
    circle_id: int
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="circle_threads", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    # Emptied for good when its author deletes the opening post or their account.
    title = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()
    last_post_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "circle_thread"
        ordering = ("-last_post_at", "-id")


class CirclePost(Model):
    """A post in a thread. Deleting it erases its text, hiding it keeps the text from view."""

    id = fields.IntField(primary_key=True)
    thread: fields.ForeignKeyRelation[CircleThread] = fields.ForeignKeyField(
        "exchange.CircleThread", related_name="posts", on_delete=fields.CASCADE
    )
    thread_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="circle_posts", on_delete=fields.CASCADE
    )
    author_id: int
    body = fields.TextField(default="")
    created_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    hidden_at = fields.DatetimeField(null=True)

    class Meta:
        table = "circle_post"
        ordering = ("created_at", "id")


class CircleCheckIn(Model):
    """How a member is doing, 1 to 5, with a note that only they read."""

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "exchange.Circle", related_name="checkins", on_delete=fields.CASCADE
    )
    circle_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="circle_checkins", on_delete=fields.CASCADE
    )
    user_id: int
    score = fields.SmallIntField()
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "circle_checkin"
        ordering = ("created_at", "id")


class CircleCheckInSummary(Model):
    """A closed period's summary as first shown, kept so that later deletions never change
    it (a changed figure, set beside the old one, would tell what was deleted)."""

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "exchange.Circle", related_name="checkin_summaries", on_delete=fields.CASCADE
    )
    circle_id: int
    period = fields.CharField(max_length=16)
    members = fields.IntField()
    mean = fields.FloatField()

    class Meta:
        table = "circle_checkin_summary"
        unique_together = (("circle", "period"),)
        ordering = ("period", "id")


class CircleMeeting(Model):
    """A meeting of a circle, with its own calendar identity (one UID, SEQUENCE up on
    each change). Its calendar entries say only "Circle meeting", the time and links."""

    id = fields.IntField(primary_key=True)
    circle: fields.ForeignKeyRelation[Circle] = fields.ForeignKeyField(
        "exchange.Circle", related_name="meetings", on_delete=fields.CASCADE
    )
    circle_id: int
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    timezone = fields.CharField(max_length=64, default="UTC")
    online_url = fields.CharField(max_length=500, default="")
    status = fields.CharEnumField(MeetingStatus, max_length=16, default=MeetingStatus.SCHEDULED)
    uid = fields.CharField(max_length=128, unique=True)
    sequence = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "circle_meeting"
        ordering = ("starts_at", "id")
