"""Findings: what a dialogue found, recorded by staff or the dialogue's rapporteurs.

A non-attributed finding (the default unless the dialogue is public) stores no city and
no person, and its text is checked for the names of the dialogue's cities, participants
and their cities: saving shows the words found, and publishing is refused while any of
them is neither rewritten nor confirmed. An attributed finding may name only cities
whose official consented on the dialogue page, consent that can be taken back until a
brief naming the city is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from exchange.domain.attribution import names_found, unconfirmed
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.briefs import (
    Attribution,
    BriefCity,
    Consent,
    Finding,
    FindingChallenge,
    FindingCity,
    FindingPractice,
)
from exchange.models.cities import Challenge, City, Practice
from exchange.models.dialogues import Dialogue, DialogueVisibility, Invitee, Seat
from exchange.services import permissions, taxonomy, visibility
from exchange.services.errors import Conflict, PermissionDenied, ValidationError
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text

MAX_TITLE = 200
MAX_BODY = 20_000


@dataclass(frozen=True)
class FindingInput:
    title: str
    body: str = ""
    challenges: Sequence[str] = ()
    attribution: str = ""
    cities: Sequence[str] = ()
    practices: Sequence[int] = ()


@dataclass(frozen=True)
class Saved:
    """A saved finding and the names its text holds that nobody has confirmed yet."""

    finding: Finding
    names: list[str] = field(default_factory=list)


async def can_record(user: User | None, dialogue: Dialogue) -> bool:
    return permissions.can_organise_dialogue(user, dialogue.organiser_id) or (
        await visibility.is_rapporteur(user, dialogue.id)
    )


async def _dialogue_for_recording(user: User, dialogue_id: int) -> Dialogue:
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    if not await can_record(user, dialogue):
        raise PermissionDenied
    return dialogue


async def dialogue_names(dialogue: Dialogue) -> tuple[list[str], list[str]]:
    """(names of the dialogue's cities and its participants' cities, participants' names)."""
    invitees = await Invitee.filter(dialogue_id=dialogue.id).exclude(seat=Seat.REMOVED)
    user_ids = [i.user_id for i in invitees if i.user_id]
    rows = await User.filter(id__in=user_ids, city_id__isnull=False).values_list(
        "city_id", flat=True
    )
    city_ids = {int(str(city_id)) for city_id in rows}
    if dialogue.host_city_id:
        city_ids.add(dialogue.host_city_id)
    cities = [
        str(name) for name in await City.filter(id__in=city_ids).values_list("name", flat=True)
    ]
    people = [i.name for i in invitees if i.name]
    return cities, people


async def check_record_finding(
    user: User, dialogue_id: int, data: FindingInput, finding_id: int | None = None
) -> Saved:
    """Record (or, with `finding_id`, edit) a finding of a dialogue."""
    dialogue = await _dialogue_for_recording(user, dialogue_id)
    finding = None
    if finding_id is not None:
        finding = await visibility.access_finding(user, finding_id)
        if finding.dialogue_id != dialogue.id:
            raise ValidationError({"finding": _("This finding belongs to another dialogue.")})
    checker = Checker()
    title, body = data.title.strip(), data.body.strip()
    if not title:
        checker.fail("title", _("Give the finding a title."))
    elif len(title) > MAX_TITLE:
        checker.fail("title", _("Use at most %(count)d characters.") % {"count": MAX_TITLE})
    if len(body) > MAX_BODY:
        checker.fail("body", _("Use at most %(count)d characters.") % {"count": MAX_BODY})
    default = (
        Attribution.ATTRIBUTED
        if dialogue.visibility == DialogueVisibility.PUBLIC and data.cities
        else Attribution.NON_ATTRIBUTED
    )
    raw_mode = data.attribution.strip() or default.value
    if raw_mode not in Attribution._value2member_map_:
        checker.fail("attribution", _("Choose attributed or non-attributed."))
        raw_mode = default.value
    mode = Attribution(raw_mode)
    slugs = list(dict.fromkeys(s.strip() for s in data.challenges if s.strip()))
    challenges = {c.slug: c for c in await Challenge.filter(slug__in=slugs)}
    if len(challenges) != len(slugs):
        checker.fail("challenges", _("Choose challenges from the list."))
    practices = await Practice.filter(id__in=list(data.practices))
    if len(practices) != len(set(data.practices)):
        checker.fail("practices", _("Choose practices from the library."))
    check_text(checker, "title", title)
    check_text(checker, "body", body, multiline=True)
    cities: list[City] = []
    if mode == Attribution.ATTRIBUTED:
        cities = await _consenting_cities(checker, dialogue, data.cities)
    elif data.cities:
        checker.fail("cities", _("A non-attributed finding names no city."))
    checker.done()
    now = datetime.now(UTC)
    async with unit_of_work():
        if finding is None:
            finding = await Finding.create(
                dialogue_id=dialogue.id, title=title, created_at=now, updated_at=now
            )
        finding.title, finding.body, finding.attribution = title, body, mode
        finding.updated_at = now
        await finding.save()
        await FindingChallenge.filter(finding_id=finding.id).delete()
        await FindingChallenge.bulk_create(
            [FindingChallenge(finding_id=finding.id, challenge_id=challenges[s].id) for s in slugs]
        )
        await FindingPractice.filter(finding_id=finding.id).delete()
        await FindingPractice.bulk_create(
            [FindingPractice(finding_id=finding.id, practice_id=p.id) for p in practices]
        )
        await FindingCity.filter(finding_id=finding.id).delete()
        await FindingCity.bulk_create(
            [FindingCity(finding_id=finding.id, city_id=city.id) for city in cities]
        )
    return Saved(finding, await names_to_confirm(finding))


async def _consenting_cities(
    checker: Checker, dialogue: Dialogue, keys: Sequence[str]
) -> list[City]:
    wanted = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
    if not wanted:
        checker.fail("cities", _("An attributed finding names at least one city."))
        return []
    cities = {c.key: c for c in await City.filter(key__in=wanted)}
    rows = await Consent.filter(
        dialogue_id=dialogue.id,
        revoked_at__isnull=True,
        city_id__in=[c.id for c in cities.values()],
    ).values_list("city_id", flat=True)
    consented = {int(str(city_id)) for city_id in rows}
    refused = [k for k in wanted if k not in cities or cities[k].id not in consented]
    if refused:
        checker.fail(
            "cities",
            _("Only cities whose official consented can be named: %(keys)s")
            % {"keys": ", ".join(refused)},
        )
    return [cities[k] for k in wanted if k in cities]


async def names_to_confirm(finding: Finding) -> list[str]:
    """The names a non-attributed finding's text holds that nobody confirmed."""
    if finding.attribution != Attribution.NON_ATTRIBUTED:
        return []
    dialogue = await Dialogue.get(id=finding.dialogue_id)
    cities, people = await dialogue_names(dialogue)
    found = names_found(f"{finding.title}\n{finding.body}", cities, people)
    return unconfirmed(found, finding.confirmed_words)


async def check_confirm_words(user: User, finding_id: int, words: Sequence[str]) -> list[str]:
    """The author checked these words and keeps them; returns what is still unconfirmed."""
    finding = await visibility.access_finding(user, finding_id)
    pending = await names_to_confirm(finding)
    chosen = [w for w in pending if w in set(words)]
    finding.confirmed_words = list(dict.fromkeys([*finding.confirmed_words, *chosen]))
    await finding.save(update_fields=["confirmed_words"])
    return await names_to_confirm(finding)


@dataclass(frozen=True)
class FindingRow:
    finding: Finding
    challenges: list[str]
    cities: list[str]
    names: list[str]


async def findings_of(user: User, dialogue_id: int) -> list[FindingRow]:
    """A dialogue's findings for those who record them, with the names still to confirm."""
    dialogue = await _dialogue_for_recording(user, dialogue_id)
    rows = []
    for finding in await Finding.filter(dialogue_id=dialogue.id).order_by("created_at", "id"):
        rows.append(await finding_row(finding))
    return rows


async def finding_row(finding: Finding) -> FindingRow:
    slugs = await FindingChallenge.filter(finding_id=finding.id).values_list(
        "challenge__slug", flat=True
    )
    terms = await taxonomy.current()
    challenges = [terms.name(str(slug)) for slug in slugs]
    cities = await FindingCity.filter(finding_id=finding.id).values_list("city__name", flat=True)
    return FindingRow(
        finding=finding,
        challenges=[str(c) for c in challenges],
        cities=[str(c) for c in cities] if finding.attribution == Attribution.ATTRIBUTED else [],
        names=await names_to_confirm(finding),
    )


# ------------------------------------------------------------------ consent and rapporteurs


async def _own_invited_city(user: User, dialogue: Dialogue) -> int:
    """The city an official speaks for in this dialogue: theirs, if they are on its list."""
    own = await visibility.invitee_of(user, dialogue)
    if own is None or user.city_id is None:
        raise PermissionDenied
    return user.city_id


async def give_consent(user: User, dialogue_id: int) -> Consent:
    """An official lets findings of this dialogue name their city."""
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    city_id = await _own_invited_city(user, dialogue)
    now = datetime.now(UTC)
    consent = await Consent.get_or_none(dialogue_id=dialogue.id, city_id=city_id)
    if consent is None:
        return await Consent.create(
            dialogue_id=dialogue.id, city_id=city_id, given_by=user, given_at=now
        )
    consent.given_by_id, consent.given_at, consent.revoked_at = user.id, now, None
    await consent.save()
    return consent


async def revoke_consent(user: User, dialogue_id: int) -> Consent:
    """Take consent back, unless a published brief already names the city from it."""
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    city_id = await _own_invited_city(user, dialogue)
    consent = await Consent.get_or_none(
        dialogue_id=dialogue.id, city_id=city_id, revoked_at__isnull=True
    )
    if consent is None:
        raise Conflict("no_consent", _("Your city has not consented."))
    published = await BriefCity.filter(
        city_id=city_id,
        brief__latest_version__gt=0,
        brief__finding_links__finding__dialogue_id=dialogue.id,
    ).exists()
    if published:
        raise Conflict(
            "published",
            _("A published brief already names your city; consent can no longer be withdrawn."),
        )
    consent.revoked_at = datetime.now(UTC)
    await consent.save(update_fields=["revoked_at"])
    return consent


async def consent_of(user: User | None, dialogue: Dialogue) -> Consent | None:
    if user is None or user.city_id is None:
        return None
    return await Consent.get_or_none(
        dialogue_id=dialogue.id, city_id=user.city_id, revoked_at__isnull=True
    )


async def check_set_rapporteur(user: User, dialogue_id: int, invitee_id: int, on: bool) -> None:
    """The organiser asks a participant to record findings (or stops asking)."""
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    permissions.require(permissions.can_organise_dialogue(user, dialogue.organiser_id))
    updated = await Invitee.filter(id=invitee_id, dialogue_id=dialogue.id).update(rapporteur=on)
    if not updated:
        raise ValidationError({"invitee": _("Choose someone on the list.")})


async def findings_to_choose() -> list[tuple[str, list[Finding]]]:
    """Every finding by dialogue, for staff putting a brief together."""
    grouped: dict[int, tuple[str, list[Finding]]] = {}
    for finding in (
        await Finding.all()
        .select_related("dialogue")
        .order_by("-dialogue__starts_at", "dialogue_id", "created_at", "id")
    ):
        grouped.setdefault(finding.dialogue_id, (finding.dialogue.title, []))[1].append(finding)
    return list(grouped.values())


async def consenting_city_options(user: User, dialogue_id: int) -> list[tuple[str, str]]:
    """(key, name) of the cities an attributed finding of this dialogue may name."""
    dialogue = await _dialogue_for_recording(user, dialogue_id)
    rows = await Consent.filter(dialogue_id=dialogue.id, revoked_at__isnull=True).values_list(
        "city__key", "city__name"
    )
    return sorted(((str(k), str(n)) for k, n in rows), key=lambda pair: pair[1])
