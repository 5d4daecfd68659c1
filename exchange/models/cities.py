"""The city library: cities, their working languages, the challenge taxonomy, practices."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from exchange.domain.regions import Region as Region  # listed once, in the domain


class PracticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class City(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=80, unique=True)
    name = fields.CharField(max_length=120)
    country = fields.CharField(max_length=2)
    region = fields.CharEnumField(Region, max_length=16)
    population = fields.IntField(null=True)
    timezone = fields.CharField(max_length=64, default="UTC")
    # How many active peer exchanges the city hosts at once; 0 means not hosting now.
    mentoring_capacity = fields.IntField(default=0)
    # Taken with a conditional UPDATE (`used < capacity`) so acceptances never overbook.
    capacity_used = fields.IntField(default=0)
    profile = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    languages: fields.ReverseRelation[CityLanguage]

    class Meta:
        table = "city"
        ordering = ("name", "id")
        # The directory's order, read a page at a time.
        indexes = (("name", "id"),)

    def __str__(self) -> str:
        return self.name


class CityLanguage(Model):
    """A working language of a city (ISO 639-1), in a table so lists can filter on it."""

    id = fields.IntField(primary_key=True)
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="languages", on_delete=fields.CASCADE
    )
    city_id: int
    code = fields.CharField(max_length=2, db_index=True)
    position = fields.SmallIntField(default=0)

    class Meta:
        table = "city_language"
        unique_together = (("city", "code"),)
        ordering = ("position", "code")


class Challenge(Model):
    """A term of the shared challenge taxonomy, such as `post-attack-recovery`."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    # Slugs of related terms. Matching counts a practice on a related term as partial fit.
    related: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # The name and description in other languages: {locale: {"name", "description"}} for
    # the locales of `i18n.CONTENT_LOCALES` other than English, which `name` and
    # `description` hold. A missing or blank one reads as the English.
    translations: fields.JSONField[dict[str, dict[str, str]]] | None = fields.JSONField(
        default=dict, null=True
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "challenge"
        ordering = ("position", "slug")

    def __str__(self) -> str:
        return self.name


class Practice(Model):
    """Something a city did about one or more challenges (a "city spotlight")."""

    id = fields.IntField(primary_key=True)
    city: fields.ForeignKeyRelation[City] = fields.ForeignKeyField(
        "exchange.City", related_name="practices", on_delete=fields.CASCADE
    )
    city_id: int
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    since = fields.IntField(null=True)
    outcomes = fields.TextField(default="")
    links: fields.JSONField[list[str]] = fields.JSONField(default=list)
    status = fields.CharEnumField(PracticeStatus, max_length=16, default=PracticeStatus.PUBLISHED)
    last_reviewed = fields.DateField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    challenge_links: fields.ReverseRelation[PracticeChallenge]

    class Meta:
        table = "practice"
        # Import matches practices by city and title, so the pair must be unique.
        unique_together = (("city", "title"),)
        ordering = ("title", "id")

    def __str__(self) -> str:
        return self.title


class PracticeChallenge(Model):
    """Tags a practice with a challenge term."""

    id = fields.IntField(primary_key=True)
    practice: fields.ForeignKeyRelation[Practice] = fields.ForeignKeyField(
        "exchange.Practice", related_name="challenge_links", on_delete=fields.CASCADE
    )
    practice_id: int
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "exchange.Challenge", related_name="practice_links", on_delete=fields.RESTRICT
    )
    challenge_id: int

    class Meta:
        table = "practice_challenge"
        unique_together = (("practice", "challenge"),)
        # A term's practices (challenge pages, related practices, filters) by index.
        indexes = (("challenge_id", "practice_id"),)


class CatalogueVersion(Model):
    """One row whose number goes up with every change to cities, practices or the taxonomy.

    Each worker keeps its matching index in memory and rebuilds it when this number moves,
    so all workers agree without talking to each other.
    """

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)
    # Random and new with every change: names one state of the catalogue across database
    # rebuilds and restores, which a number counting from 1 again cannot (the matching
    # index snapshots are keyed by it).
    token = fields.CharField(max_length=32, default="", db_default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "catalogue_version"
