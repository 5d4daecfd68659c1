"""Briefs: findings put together, reviewed, and published as immutable versions.

Workflow: draft → in review → published. The author names reviewers; publishing needs
every named reviewer's approval (or none named), and refuses while a non-attributed
finding still names someone unconfirmed, or an attributed one names a city whose consent
is gone. Publishing freezes everything readers see into a numbered `BriefVersion`; a
later edit is a new draft, and readers keep the latest published version meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q, Subquery

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.briefs import (
    Attribution,
    Brief,
    BriefChallenge,
    BriefCity,
    BriefDialogue,
    BriefFinding,
    BriefStatus,
    BriefVersion,
    BriefVisibility,
    Consent,
    Finding,
    FindingChallenge,
    FindingCity,
    ReviewComment,
    Reviewer,
)
from exchange.models.cities import Challenge
from exchange.services import findings, permissions, visibility
from exchange.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from exchange.services.pagination import Page, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text, is_clean, normalise_email
from exchange.settings import Settings

MAX_TITLE = 200
MAX_TEXT = 50_000
DEFAULT_DISCLAIMER = N_(
    "The views in this brief are those of the participants in the dialogues, not of the "
    "network, its members or its partners."
)


@dataclass(frozen=True)
class BriefInput:
    title: str
    summary: str = ""
    recommendations: str = ""
    disclaimer: str = ""
    visibility: str = BriefVisibility.MEMBERS.value
    findings: Sequence[int] = ()
    challenges: Sequence[str] = ()
    reviewers: Sequence[str] = ()  # email addresses


async def _check(
    data: BriefInput,
) -> tuple[dict[str, Any], list[Finding], list[Challenge], list[User]]:
    checker = Checker()
    title = data.title.strip()
    if not title:
        checker.fail("title", _("Give the brief a title."))
    elif len(title) > MAX_TITLE:
        checker.fail("title", _("Use at most %(count)d characters.") % {"count": MAX_TITLE})
    for name in ("summary", "recommendations", "disclaimer"):
        if len(getattr(data, name)) > MAX_TEXT:
            checker.fail(name, _("Use at most %(count)d characters.") % {"count": MAX_TEXT})
    if data.visibility not in BriefVisibility._value2member_map_:
        checker.fail("visibility", _("Choose who may read the brief."))
    check_text(checker, "title", title)
    for name in ("summary", "recommendations", "disclaimer"):
        check_text(checker, name, getattr(data, name), multiline=True)
    ids = list(dict.fromkeys(data.findings))
    chosen = {f.id: f for f in await Finding.filter(id__in=ids)}
    if len(chosen) != len(ids):
        checker.fail("findings", _("Choose findings that exist."))
    slugs = list(dict.fromkeys(s.strip() for s in data.challenges if s.strip()))
    terms = {c.slug: c for c in await Challenge.filter(slug__in=slugs)}
    if len(terms) != len(slugs):
        checker.fail("challenges", _("Choose challenges from the list."))
    emails = list(dict.fromkeys(normalise_email(e) for e in data.reviewers if e.strip()))
    reviewers = list(
        await User.filter(
            email__in=emails, is_active=True, role__in=(Role.STAFF, Role.ADMIN, Role.OFFICIAL)
        )
    )
    if len(reviewers) != len(emails):
        checker.fail("reviewers", _("Name reviewers by the email of their account."))
    checker.done()
    values = {
        "title": title,
        "summary": data.summary.strip(),
        "recommendations": data.recommendations.strip(),
        "disclaimer": data.disclaimer.strip() or _(DEFAULT_DISCLAIMER),
        "visibility": BriefVisibility(data.visibility),
    }
    return values, [chosen[i] for i in ids], [terms[s] for s in slugs], reviewers


async def check_create_brief(user: User, data: BriefInput) -> Brief:
    """Staff put findings together into a draft brief."""
    permissions.require(permissions.can_write_briefs(user))
    values, chosen, terms, reviewers = await _check(data)
    now = datetime.now(UTC)
    async with unit_of_work():
        brief = await Brief.create(**values, author=user, created_at=now, updated_at=now)
        await _link(brief, chosen, terms, reviewers)
    return brief


async def check_update_brief(user: User, brief_id: int, data: BriefInput) -> Brief:
    """Edit a brief. A published one becomes a new draft; readers keep its latest version."""
    brief = await access_brief_to_edit(user, brief_id)
    values, chosen, terms, reviewers = await _check(data)
    async with unit_of_work():
        for name, value in values.items():
            setattr(brief, name, value)
        brief.status = BriefStatus.DRAFT
        brief.updated_at = datetime.now(UTC)
        await brief.save()
        await _link(brief, chosen, terms, reviewers)
        # A changed brief is a new text: earlier approvals were for the old one.
        await Reviewer.filter(brief_id=brief.id).update(approved_at=None)
    return brief


async def _link(
    brief: Brief, chosen: list[Finding], terms: list[Challenge], reviewers: list[User]
) -> None:
    await BriefFinding.filter(brief_id=brief.id).delete()
    await BriefFinding.bulk_create(
        [BriefFinding(brief_id=brief.id, finding_id=f.id, position=n) for n, f in enumerate(chosen)]
    )
    await BriefChallenge.filter(brief_id=brief.id).delete()
    await BriefChallenge.bulk_create(
        [BriefChallenge(brief_id=brief.id, challenge_id=c.id) for c in terms]
    )
    await Reviewer.filter(brief_id=brief.id).exclude(user_id__in=[u.id for u in reviewers]).delete()
    rows = await Reviewer.filter(brief_id=brief.id).values_list("user_id", flat=True)
    have = {int(str(user_id)) for user_id in rows}
    await Reviewer.bulk_create(
        [Reviewer(brief_id=brief.id, user_id=u.id) for u in reviewers if u.id not in have]
    )


async def access_brief_to_edit(user: User, brief_id: int) -> Brief:
    brief = await visibility.access_brief(user, brief_id)
    permissions.require(permissions.can_edit_brief(user, brief.author_id))
    return brief


# ------------------------------------------------------------------ review


async def check_submit_for_review(settings: Settings, user: User, brief_id: int) -> Brief:
    brief = await access_brief_to_edit(user, brief_id)
    if brief.status != BriefStatus.DRAFT:
        raise Conflict("not_draft", _("Only a draft goes to review."))
    reviewers = await User.filter(reviews__brief_id=brief.id, is_active=True)
    async with unit_of_work(settings) as uow:
        brief.status = BriefStatus.IN_REVIEW
        await brief.save(update_fields=["status"])
        uow.notify(
            reviewers,
            "brief_review",
            N_("A brief waits for your review: %(title)s"),
            {"title": brief.title},
            f"/briefs/{brief.id}/review",
        )
    return brief


async def check_comment(user: User, brief_id: int, body: str, finding_id: int | None) -> None:
    """Reviewers (and the author, and staff) comment on the brief or on one finding."""
    brief = await visibility.access_brief(user, brief_id)
    if not await visibility.can_work_on_brief(user, brief):
        raise PermissionDenied
    text = body.strip()
    if not text or len(text) > 5000 or not is_clean(text, multiline=True):
        raise ValidationError({"body": _("Write a comment of up to 5,000 characters.")})
    if finding_id is not None and not await BriefFinding.exists(
        brief_id=brief.id, finding_id=finding_id
    ):
        raise ValidationError({"finding": _("Choose a finding of this brief.")})
    await ReviewComment.create(
        brief_id=brief.id,
        finding_id=finding_id,
        author=user,
        body=text,
        created_at=datetime.now(UTC),
    )


async def check_approve(user: User, brief_id: int) -> None:
    """A named reviewer approves the brief as it stands in review."""
    brief = await visibility.access_brief(user, brief_id)
    if not await Reviewer.exists(brief_id=brief.id, user_id=user.id):
        raise PermissionDenied
    if brief.status != BriefStatus.IN_REVIEW:
        raise Conflict("not_in_review", _("This brief is not in review."))
    await Reviewer.filter(brief_id=brief.id, user_id=user.id).update(approved_at=datetime.now(UTC))


# ------------------------------------------------------------------ publishing


@dataclass(frozen=True)
class Blocking:
    """Why a brief cannot be published yet: names to confirm, approvals, consent."""

    names: dict[int, list[str]] = field(default_factory=dict)  # finding id → words
    waiting_for: list[str] = field(default_factory=list)  # reviewers' names
    no_consent: list[str] = field(default_factory=list)  # finding titles

    def __bool__(self) -> bool:
        return bool(self.names or self.waiting_for or self.no_consent)


class PublishRefused(Conflict):
    def __init__(self, blocking: Blocking) -> None:
        super().__init__(
            "not_publishable",
            _(
                "The brief cannot be published yet: confirm or rewrite the names found, "
                "and get every reviewer's approval."
            ),
        )
        self.blocking = blocking


async def _brief_findings(brief: Brief) -> list[Finding]:
    return list(
        await Finding.filter(brief_links__brief_id=brief.id).order_by("brief_links__position", "id")
    )


async def blocking(brief: Brief) -> Blocking:
    names: dict[int, list[str]] = {}
    no_consent: list[str] = []
    for finding in await _brief_findings(brief):
        pending = await findings.names_to_confirm(finding)
        if pending:
            names[finding.id] = pending
        if finding.attribution == Attribution.ATTRIBUTED:
            named = set(
                await FindingCity.filter(finding_id=finding.id).values_list("city_id", flat=True)
            )
            agreed = set(
                await Consent.filter(
                    dialogue_id=finding.dialogue_id, city_id__in=named, revoked_at__isnull=True
                ).values_list("city_id", flat=True)
            )
            if named - agreed:
                no_consent.append(finding.title)
    waiting = await Reviewer.filter(brief_id=brief.id, approved_at__isnull=True).values_list(
        "user__name", flat=True
    )
    return Blocking(names=names, waiting_for=[str(n) for n in waiting], no_consent=no_consent)


async def check_publish(
    settings: Settings, user: User, brief_id: int, confirm: Sequence[str] = ()
) -> BriefVersion:
    """Publish the brief as its next version. `confirm` lists found words the author
    keeps (they are recorded on each finding that holds them)."""
    brief = await access_brief_to_edit(user, brief_id)
    if brief.status == BriefStatus.PUBLISHED:
        raise Conflict("published", _("This version is already published; edit to make a new one."))
    if confirm:
        for finding in await _brief_findings(brief):
            await findings.check_confirm_words(user, finding.id, confirm)
    reasons = await blocking(brief)
    if reasons:
        raise PublishRefused(reasons)
    now = datetime.now(UTC)
    async with unit_of_work(settings):
        brief = await Brief.filter(id=brief.id).select_for_update().get()
        chosen = await _brief_findings(brief)
        snapshot = [await _snapshot(f) for f in chosen]
        challenge_names = [
            str(n)
            for n in await BriefChallenge.filter(brief_id=brief.id).values_list(
                "challenge__name", flat=True
            )
        ]
        number = brief.latest_version + 1
        version = await BriefVersion.create(
            brief_id=brief.id,
            number=number,
            title=brief.title,
            summary=brief.summary,
            recommendations=brief.recommendations,
            disclaimer=brief.disclaimer,
            visibility=brief.visibility,
            findings=snapshot,
            challenges=challenge_names,
            published_at=now,
        )
        brief.latest_version, brief.published_at = number, now
        brief.status = BriefStatus.PUBLISHED
        brief.search_title = brief.title
        brief.search_text = "\n\n".join(
            [
                brief.summary,
                *(f"{f['title']}\n{f['body']}" for f in snapshot),
                brief.recommendations,
            ]
        )
        await brief.save()
        await BriefDialogue.filter(brief_id=brief.id).delete()
        await BriefDialogue.bulk_create(
            [
                BriefDialogue(brief_id=brief.id, dialogue_id=d)
                for d in sorted({f.dialogue_id for f in chosen})
            ]
        )
        await BriefCity.filter(brief_id=brief.id).delete()
        attributed = [f.id for f in chosen if f.attribution == Attribution.ATTRIBUTED]
        city_ids = set(
            await FindingCity.filter(finding_id__in=attributed).values_list("city_id", flat=True)
        )
        await BriefCity.bulk_create(
            [BriefCity(brief_id=brief.id, city_id=c) for c in sorted(city_ids)]
        )
        await Reviewer.filter(brief_id=brief.id).update(approved_at=None)
    return version


async def _snapshot(finding: Finding) -> dict[str, Any]:
    """What readers see of a finding. A non-attributed one carries no city at all."""
    challenges = await FindingChallenge.filter(finding_id=finding.id).values_list(
        "challenge__name", flat=True
    )
    cities: list[str] = []
    if finding.attribution == Attribution.ATTRIBUTED:
        cities = [
            str(c)
            for c in await FindingCity.filter(finding_id=finding.id).values_list(
                "city__name", flat=True
            )
        ]
    return {
        "title": finding.title,
        "body": finding.body,
        "challenges": [str(c) for c in challenges],
        "cities": cities,
    }


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class LibraryFilters:
    challenge: str = ""
    year: int | None = None
    region: str = ""
    city: str = ""


async def list_briefs(user: User | None, filters: LibraryFilters, page: int) -> Page[Brief]:
    """Published briefs the user may read, newest first."""
    query = visibility.visible_briefs(user)
    if filters.challenge:
        query = query.filter(challenge_links__challenge__slug=filters.challenge)
    if filters.year:
        query = query.filter(
            published_at__gte=datetime(filters.year, 1, 1, tzinfo=UTC),
            published_at__lt=datetime(filters.year + 1, 1, 1, tzinfo=UTC),
        )
    if filters.region:
        query = query.filter(city_links__city__region=filters.region)
    if filters.city:
        query = query.filter(city_links__city__key=filters.city)
    return await paginate(query.distinct().order_by("-published_at", "-id"), page)


async def mentioned_city_options(user: User | None) -> list[tuple[str, str]]:
    """(key, name) of the cities named by briefs the user may read, for the filter."""
    readable = visibility.visible_briefs(user).values("id")
    rows = (
        await BriefCity.filter(brief_id__in=Subquery(readable))
        .distinct()
        .values_list("city__key", "city__name")
    )
    return sorted(((str(k), str(n)) for k, n in rows), key=lambda pair: pair[1])


async def drafts_for(user: User | None) -> list[Brief]:
    """Briefs not yet published that the user works on (staff: all)."""
    if user is None or not permissions.is_signed_in(user):
        return []
    query = Brief.filter(status__in=(BriefStatus.DRAFT, BriefStatus.IN_REVIEW))
    if not permissions.can_write_briefs(user):
        query = query.filter(Q(author_id=user.id) | Q(reviewers__user_id=user.id))
    return list(await query.distinct().order_by("-updated_at", "-id").limit(50))


@dataclass(frozen=True)
class BriefView:
    brief: Brief
    version: BriefVersion | None  # None: never published (a draft seen by its team)
    numbers: list[int]
    can_edit: bool
    can_review: bool
    draft_findings: list[findings.FindingRow] = field(default_factory=list)


async def brief_detail(user: User | None, brief_id: int, number: int | None = None) -> BriefView:
    """The latest version (or version `number`); the team also sees the draft."""
    brief = await visibility.access_brief(user, brief_id)
    readable = (
        brief.latest_version > 0
        and await visibility.visible_briefs(user).filter(id=brief.id).exists()
    )
    team = await visibility.can_work_on_brief(user, brief)
    version = None
    if readable or (team and brief.latest_version > 0):
        wanted = number or brief.latest_version
        version = await BriefVersion.get_or_none(brief_id=brief.id, number=wanted)
        if version is None:
            raise NotFound
    elif number is not None:
        raise NotFound
    numbers = [
        int(str(n))
        for n in await BriefVersion.filter(brief_id=brief.id)
        .order_by("number")
        .values_list("number", flat=True)
    ]
    rows = []
    if team:
        rows = [await findings.finding_row(f) for f in await _brief_findings(brief)]
    return BriefView(
        brief=brief,
        version=version,
        numbers=numbers,
        can_edit=permissions.can_edit_brief(user, brief.author_id),
        can_review=user is not None and await Reviewer.exists(brief_id=brief.id, user_id=user.id),
        draft_findings=rows,
    )


async def versions_of(user: User | None, brief_id: int) -> list[BriefVersion]:
    view = await brief_detail(user, brief_id)
    if view.version is None:
        return []
    return list(await BriefVersion.filter(brief_id=view.brief.id).order_by("number"))


async def version_of(user: User | None, brief_id: int, number: int) -> BriefVersion:
    view = await brief_detail(user, brief_id, number)
    if view.version is None:
        raise NotFound
    return view.version


async def review_comments(user: User, brief_id: int) -> list[ReviewComment]:
    brief = await visibility.access_brief(user, brief_id)
    if not await visibility.can_work_on_brief(user, brief):
        raise NotFound
    return list(await ReviewComment.filter(brief_id=brief.id).select_related("author", "finding"))


async def challenge_slugs(brief: Brief) -> list[str]:
    rows = await BriefChallenge.filter(brief_id=brief.id).values_list("challenge__slug", flat=True)
    return [str(slug) for slug in rows]


async def reviewers_of(brief: Brief) -> list[Reviewer]:
    return list(await Reviewer.filter(brief_id=brief.id).select_related("user"))


async def public_feed(limit: int = 50) -> list[Brief]:
    """The latest public briefs, for the Atom feed."""
    return list(await visibility.visible_briefs(None).order_by("-published_at", "-id").limit(limit))
