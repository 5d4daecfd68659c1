"""A unit of work: one transaction, and the effects of the change made in it.

A use case opens `async with unit_of_work(settings) as uow:`, changes rows, and hands
the unit the effects of the change: mail, notices, audit events, version bumps. They are
written at the end of the block, inside the same transaction, so they exist exactly when
the change does (a rolled-back change leaves no mail behind). What must wait for the
commit, such as waking this process's mail sender, runs after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from exchange.models.accounts import User
from exchange.services import audit, catalogue_version, matching, notices, outbox, visitor_stamp
from exchange.services.outbox import Attachment
from exchange.settings import Settings


@dataclass(frozen=True)
class _Mail:
    to: str
    locale: str
    subject: str
    template: str
    context: dict[str, Any]
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class _Notice:
    users: tuple[User, ...]
    kind: str
    message: str
    params: dict[str, Any]
    link: str


@dataclass
class UnitOfWork:
    """The effects collected while a change is made; see the module docstring."""

    settings: Settings | None = None
    _mail: list[_Mail] = field(default_factory=list)
    _notices: list[_Notice] = field(default_factory=list)
    _audit: list[tuple[audit.Event, dict[str, Any]]] = field(default_factory=list)
    _catalogue_changed: bool = False
    _availability_changed: bool = False
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def _settings(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("A unit of work that sends mail needs the settings")
        return self.settings

    def absolute(self, path: str) -> str:
        """A link for an email: built from the configured base URL, never a request's."""
        return self._settings().base_url + path

    def email(
        self,
        *,
        to: str,
        locale: str,
        subject: str,
        template: str,
        context: dict[str, Any],
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Queue an email (see `outbox.queue_email` for the arguments)."""
        self._settings()
        self._mail.append(_Mail(to, locale, subject, template, context, tuple(attachments)))

    def notify(
        self,
        users: Iterable[User],
        kind: str,
        message: str,
        params: dict[str, Any],
        link: str = "",
    ) -> None:
        """Leave an in-app notice for each user (`message` untranslated)."""
        self._notices.append(_Notice(tuple(users), kind, message, params, link))

    def audit(self, event: audit.Event, **facts: Any) -> None:
        """Record a security event (`audit.record`'s keyword arguments)."""
        self._audit.append((event, facts))

    def catalogue_changed(self) -> None:
        """Cities, practices or the taxonomy changed: matching indexes must rebuild."""
        self._catalogue_changed = True

    def availability_changed(self) -> None:
        """Capacity use or peer history changed: matching indexes must re-read them."""
        self._availability_changed = True

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def _write(self) -> None:
        """Write the collected effects; runs inside the transaction, before commit."""
        for notice in self._notices:
            await notices.notify(
                notice.users, notice.kind, notice.message, notice.params, notice.link
            )
        for event, facts in self._audit:
            await audit.record(event, **facts)
        if self._catalogue_changed:
            await catalogue_version.bump()
        if self._availability_changed:
            await matching.bump_availability()
        # Any change may be one visitors see (a brief published, say): the stamp of the
        # pages kept for them is read again.
        self._after_commit.append(visitor_stamp.expire)
        for mail in self._mail:
            await outbox.queue_email(
                self._settings(),
                to=mail.to,
                locale=mail.locale,
                subject=mail.subject,
                template=mail.template,
                context=mail.context,
                attachments=mail.attachments,
            )
        if self._mail:
            self._after_commit.append(outbox.wake_sender)

    def _committed(self) -> None:
        for callback in self._after_commit:
            callback()


@contextlib.asynccontextmanager
async def unit_of_work(settings: Settings | None = None) -> AsyncIterator[UnitOfWork]:
    """One transaction; its effects are written before commit and woken after it.

    An exception inside the block rolls everything back, effects included.
    """
    uow = UnitOfWork(settings)
    async with in_transaction():
        yield uow
        await uow._write()
    uow._committed()
