"""A circle's discussion: threads and replies (Markdown, sanitised when shown), edited
and deleted by their authors, hidden by facilitators.

Deleting a post erases its text for good (and a thread's title with its opening post);
only an empty row stays, so replies keep their place. Hiding keeps the text but shows it
to nobody but its author. Nothing here is ever indexed, searched, listed or mailed: other
members hear only that there is "something new in a circle of theirs".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.circles import CirclePost, CircleThread
from exchange.services import circle_mail, permissions, visibility
from exchange.services.circles import author_names
from exchange.services.errors import Conflict
from exchange.services.pagination import Page, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker
from exchange.services.visibility import InCircle
from exchange.settings import Settings

MAX_TITLE = 200
MAX_BODY = 20_000


def _check_title(checker: Checker, title: str) -> str:
    title = title.strip()
    if not title:
        checker.fail("title", _("Give the thread a title."))
    elif len(title) > MAX_TITLE:
        checker.fail("title", _("Use at most %(count)d characters.") % {"count": MAX_TITLE})
    return title


def _check_body(checker: Checker, body: str) -> str:
    body = body.strip()
    if not body:
        checker.fail("body", _("Write something first."))
    elif len(body) > MAX_BODY:
        checker.fail("body", _("Use at most %(count)d characters.") % {"count": MAX_BODY})
    return body


def thread_path(thread: CircleThread) -> str:
    return f"/circles/{thread.circle_id}/threads/{thread.id}"


async def list_threads(
    user: User, circle_id: int, page: int
) -> tuple[InCircle, Page[CircleThread]]:
    member = await visibility.access_circle(user, circle_id)
    query = visibility.visible_threads(member).order_by("-last_post_at", "-id")
    return member, await paginate(query, page)


async def check_start_thread(
    settings: Settings, user: User, circle_id: int, title: str, body: str
) -> CircleThread:
    """A new thread with its opening post; the other members are told something is new."""
    member = await visibility.access_circle(user, circle_id)
    checker = Checker()
    title = _check_title(checker, title)
    body = _check_body(checker, body)
    checker.done()
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        thread = await CircleThread.create(
            circle_id=member.circle.id, author=user, title=title, created_at=now, last_post_at=now
        )
        await CirclePost.create(thread=thread, author=user, body=body, created_at=now)
        await circle_mail.tell_members_of_news(
            uow, member.circle, user.id, thread_path(thread), now
        )
    return thread


async def check_reply(
    settings: Settings, user: User, circle_id: int, thread_id: int, body: str
) -> CirclePost:
    member = await visibility.access_circle(user, circle_id)
    thread = await visibility.access_thread(member, thread_id)
    checker = Checker()
    body = _check_body(checker, body)
    checker.done()
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        post = await CirclePost.create(thread=thread, author=user, body=body, created_at=now)
        await CircleThread.filter(id=thread.id).update(last_post_at=now)
        await circle_mail.tell_members_of_news(
            uow, member.circle, user.id, thread_path(thread), now
        )
    return post


@dataclass(frozen=True)
class ThreadView:
    member: InCircle
    thread: CircleThread
    posts: list[CirclePost]
    opening_id: int | None
    authors: dict[int, str] = field(default_factory=dict)

    @property
    def may_hide(self) -> bool:
        return self.member.facilitator

    def mine(self, post: CirclePost) -> bool:
        return post.author_id == self.member.membership.user_id

    def shown(self, post: CirclePost) -> bool:
        """A hidden post's text is shown to its author alone."""
        return post.deleted_at is None and (post.hidden_at is None or self.mine(post))


async def thread_view(user: User, circle_id: int, thread_id: int) -> ThreadView:
    member = await visibility.access_circle(user, circle_id)
    thread = await visibility.access_thread(member, thread_id)
    await circle_mail.mark_seen(member.membership)
    posts = list(await CirclePost.filter(thread_id=thread.id).order_by("created_at", "id"))
    return ThreadView(
        member=member,
        thread=thread,
        posts=posts,
        opening_id=min((p.id for p in posts), default=None),
        authors=await author_names([p.author_id for p in posts]),
    )


@dataclass(frozen=True)
class EditablePost:
    member: InCircle
    post: CirclePost
    thread: CircleThread
    opening: bool


async def post_to_change(user: User, circle_id: int, post_id: int) -> EditablePost:
    """The user's own post, still there to change: NotFound outside the circle, refused
    for another member's post."""
    member = await visibility.access_circle(user, circle_id)
    post = await visibility.access_post(member, post_id)
    permissions.require(permissions.can_change_post(user, post))
    if post.deleted_at is not None:
        raise Conflict("deleted", _("This post is deleted."))
    thread = await CircleThread.get(id=post.thread_id)
    first = await CirclePost.filter(thread_id=thread.id).order_by("id").first()
    return EditablePost(member, post, thread, first is not None and first.id == post.id)


async def check_edit_post(
    user: User, circle_id: int, post_id: int, body: str, title: str = ""
) -> CirclePost:
    """The author rewrites their post (and, for an opening post, the thread's title)."""
    found = await post_to_change(user, circle_id, post_id)
    checker = Checker()
    body = _check_body(checker, body)
    new_title = _check_title(checker, title) if found.opening else ""
    checker.done()
    post = found.post
    async with unit_of_work():
        post.body, post.edited_at = body, datetime.now(UTC)
        await post.save(update_fields=["body", "edited_at"])
        if found.opening:
            await CircleThread.filter(id=found.thread.id).update(title=new_title)
    return post


async def delete_post(user: User, circle_id: int, post_id: int) -> CirclePost:
    """The author deletes their post: its text is erased for good, not kept anywhere."""
    found = await post_to_change(user, circle_id, post_id)
    post = found.post
    async with unit_of_work():
        post.body, post.deleted_at, post.edited_at = "", datetime.now(UTC), None
        await post.save(update_fields=["body", "deleted_at", "edited_at"])
        if found.opening:
            await CircleThread.filter(id=found.thread.id).update(title="")
    return post


async def toggle_hidden(user: User, circle_id: int, post_id: int) -> CirclePost:
    """A facilitator hides a post from the circle, or shows it again."""
    member = await visibility.access_circle(user, circle_id)
    permissions.require(permissions.can_facilitate(user, member.membership))
    post = await visibility.access_post(member, post_id)
    post.hidden_at = None if post.hidden_at else datetime.now(UTC)
    await post.save(update_fields=["hidden_at"])
    return post
