"""Paginating querysets: every user-visible list is paged and deterministically ordered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

T = TypeVar("T")
DEFAULT_PER_PAGE = 25


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int
    # True when there are more than `total` (a search counts its matches up to a limit).
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | None) -> int:
    """A page number from a query string; anything odd means the first page."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return max(1, min(number, 100_000))


async def paginate(
    queryset: QuerySet[Any], number: int, per_page: int = DEFAULT_PER_PAGE
) -> Page[Any]:
    """One page of `queryset`, which must already be ordered (ties broken by id)."""
    total = await queryset.count()
    # A page past the end (an old bookmark, a list that shrank) shows the last page.
    number = min(number, max(1, -(-total // per_page)))
    items = await queryset.offset((number - 1) * per_page).limit(per_page)
    return Page(items=list(items), number=number, per_page=per_page, total=total)
