"""Findings recorded from dialogues, and the briefs that publish them in versions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from exchange.models.accounts import User
from exchange.models.cities import Challenge, City, Practice
from exchange.models.dialogues import Dialogue


class Attribution(StrEnum):
    ATTRIBUTED = "attributed"  # cities named, with their consent
    NON_ATTRIBUTED = "non-attributed"  # no city or person stored or shown


class BriefVisibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"
    PARTICIPANTS = "participants"


class BriefStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in-review"
    PUBLISHED = "published"


class Finding(Model):
    """One lesson from a dialogue.

    Deliberately without an author: under the Chatham House Rule nothing stored with a
    non-attributed finding may point to a person, and who may edit it is decided by the
    dialogue (staff and its rapporteurs), not by who typed it.
    """

    id = fields.IntField(primary_key=True)
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="findings", on_delete=fields.CASCADE
    )
    dialogue_id: int
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    attribution = fields.CharEnumField(
        Attribution, max_length=16, default=Attribution.NON_ATTRIBUTED
    )
    # Words the text shares with participants' or cities' names that the author checked
    # and kept (a common word, say); publishing is refused while others remain.
    confirmed_words: fields.JSONField[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "finding"
        ordering = ("created_at", "id")


class FindingChallenge(Model):
    id = fields.IntField(primary_key=True)
    finding: fields.ForeignKeyRelation[Finding] = fields.ForeignKeyField(
        "exchange.Finding", related_name="challenge_links", on_delete=fields.CASCADE
    )
    finding_id: int
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "exchange.Challenge", related_name="finding_links", on_delete=fields.CASCADE
    )
    challenge_id: int

    class Meta:
        table = "finding_challenge"
        unique_together = (("finding", "challenge"),)


class FindingPractice(Model):
    id = fields.IntField(primary_key=True)
    finding: fields.ForeignKeyRelation[Finding] = fields.ForeignKeyField(
        "exchange.Finding", related_name="practice_links", on_delete=fields.CASCADE
    )
    finding_id: int
    practice: fields.ForeignKeyRelation[Practice] = fields.ForeignKeyField(
        "exchange.Practice", related_name="finding_links", on_delete=fields.CASCADE
    )
    practice_id: int

    class Meta:
        table = "finding_practice"
        unique_together = (("finding", "practice"),)


class FindingCity(Model):
    """A city an attributed finding names (never stored for a non-attributed one)."""

    id = fields.IntField(primary_key=True)
    finding: fields.ForeignKeyRelation[Finding] = fields.ForeignKeyField(
        "exchange.Finding", related_name="city_links", on_delete=fields.CASCADE
    )
    finding_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="finding_links", on_delete=fields.CASCADE
    )
    city_id: int

    class Meta:
        table = "finding_city"
        unique_together = (("finding", "city"),)


class Consent(Model):
    """A city's consent to be named in a dialogue's findings, revocable until published."""

    id = fields.IntField(primary_key=True)
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="consents", on_delete=fields.CASCADE
    )
    dialogue_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="consents", on_delete=fields.CASCADE
    )
    city_id: int
    given_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="consents", null=True, on_delete=fields.SET_NULL
    )
    given_by_id: int | None
    given_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "dialogue_consent"
        unique_together = (("dialogue", "city"),)


class Brief(Model):
    """A set of findings with a summary and recommendations, published in versions.

    `search_title` and `search_text` hold the latest published version's words, so the
    library searches what readers can actually read, never an unpublished draft.
    """

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    recommendations = fields.TextField(default="")
    disclaimer = fields.TextField(default="")
    visibility = fields.CharEnumField(
        BriefVisibility, max_length=16, default=BriefVisibility.MEMBERS, db_index=True
    )
    status = fields.CharEnumField(BriefStatus, max_length=16, default=BriefStatus.DRAFT)
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="briefs", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    latest_version = fields.IntField(default=0, db_index=True)  # 0: never published
    published_at = fields.DatetimeField(null=True, db_index=True)
    search_title = fields.TextField(default="")
    search_text = fields.TextField(default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "brief"
        ordering = ("-published_at", "-id")


class BriefFinding(Model):
    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="finding_links", on_delete=fields.CASCADE
    )
    brief_id: int
    finding: fields.ForeignKeyRelation[Finding] = fields.ForeignKeyField(
        "exchange.Finding", related_name="brief_links", on_delete=fields.CASCADE
    )
    finding_id: int
    position = fields.SmallIntField(default=0)

    class Meta:
        table = "brief_finding"
        unique_together = (("brief", "finding"),)


class BriefChallenge(Model):
    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="challenge_links", on_delete=fields.CASCADE
    )
    brief_id: int
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "exchange.Challenge", related_name="brief_links", on_delete=fields.CASCADE
    )
    challenge_id: int

    class Meta:
        table = "brief_challenge"
        unique_together = (("brief", "challenge"),)


class BriefDialogue(Model):
    """The dialogues a published brief draws on: their participants may read it."""

    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="dialogue_links", on_delete=fields.CASCADE
    )
    brief_id: int
    dialogue: fields.ForeignKeyRelation[Dialogue] = fields.ForeignKeyField(
        "exchange.Dialogue", related_name="brief_links", on_delete=fields.CASCADE
    )
    dialogue_id: int

    class Meta:
        table = "brief_dialogue"
        unique_together = (("brief", "dialogue"),)


class BriefCity(Model):
    """A city an attributed finding of the published brief names (the library filter)."""

    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="city_links", on_delete=fields.CASCADE
    )
    brief_id: int
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="brief_links", on_delete=fields.CASCADE
    )
    city_id: int

    class Meta:
        table = "brief_city"
        unique_together = (("brief", "city"),)


class Reviewer(Model):
    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="reviewers", on_delete=fields.CASCADE
    )
    brief_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="reviews", on_delete=fields.CASCADE
    )
    user_id: int
    approved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "brief_reviewer"
        unique_together = (("brief", "user"),)


class ReviewComment(Model):
    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="comments", on_delete=fields.CASCADE
    )
    brief_id: int
    finding: fields.ForeignKeyNullableRelation[Finding] = fields.ForeignKeyField(
        "exchange.Finding", related_name="comments", null=True, on_delete=fields.CASCADE
    )
    finding_id: int | None
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "exchange.User", related_name="review_comments", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "brief_review_comment"
        ordering = ("created_at", "id")


class BriefVersion(Model):
    """A published version: a frozen copy of everything readers see. Never changed."""

    id = fields.IntField(primary_key=True)
    brief: fields.ForeignKeyRelation[Brief] = fields.ForeignKeyField(
        "exchange.Brief", related_name="versions", on_delete=fields.CASCADE
    )
    brief_id: int
    number = fields.IntField()
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    recommendations = fields.TextField(default="")
    disclaimer = fields.TextField(default="")
    visibility = fields.CharEnumField(BriefVisibility, max_length=16)
    # [{"title", "body", "challenges": [names], "cities": [names] (attributed only)}]
    findings: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    challenges: fields.JSONField[list[str]] = fields.JSONField(default=list)
    published_at = fields.DatetimeField()

    class Meta:
        table = "brief_version"
        unique_together = (("brief", "number"),)
        ordering = ("number",)
