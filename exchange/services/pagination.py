"""Paginating querysets: every user-visible list is paged and deterministically ordered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

T = TypeVar("T")
U = TypeVar("U")
DEFAULT_PER_PAGE = 25


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int
    # The page number asked for, when it was past the last page (0 otherwise): the page
    # then shows the last page and says so.
    requested: int = 0
    # True when there are more than `total` (a search counts its matches up to a limit).
    capped: bool = False

    @property
    def past_end(self) -> bool:
        return self.requested > self.number

    def with_items(self, items: list[U]) -> Page[U]:
        """The same page of another list (the rows made from this page's items)."""
        return Page(
            items=items,
            number=self.number,
            per_page=self.per_page,
            total=self.total,
            requested=self.requested,
            capped=self.capped,
        )

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def replace(self, rows: Sequence[U]) -> Page[U]:
        """This page of ids as the rows they name, in the ids' order (rows gone since
        the ids were read are left out)."""
        by_id = {row.id: row for row in rows}  # type: ignore[attr-defined]
        items = [by_id[i] for i in self.items if i in by_id]
        return Page(items=items, number=self.number, per_page=self.per_page, total=self.total)


def page_number(raw: str | None) -> int:
    """A page number from a query string; anything odd means the first page."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return max(1, min(number, 100_000))


def clamp(number: int, total: int, per_page: int) -> tuple[int, int]:
    """The page to show for `number` and the number asked for if it was past the end."""
    last = max(1, -(-total // per_page))
    return (last, number) if number > last else (number, 0)


def empty_page(number: int, per_page: int) -> Page[Any]:
    """A list with nothing in it, asked for at page `number`."""
    _shown, requested = clamp(number, 0, per_page)
    return Page(items=[], number=1, per_page=per_page, total=0, requested=requested)


def page_of_ids(ids: Sequence[int], number: int, per_page: int = DEFAULT_PER_PAGE) -> Page[int]:
    """One page of an ordered list of ids held in memory, numbered as `paginate` does."""
    total = len(ids)
    number, requested = clamp(number, total, per_page)
    start = (number - 1) * per_page
    return Page(
        items=list(ids[start : start + per_page]),
        number=number,
        per_page=per_page,
        total=total,
        requested=requested,
    )


async def paginate(
    queryset: QuerySet[Any],
    number: int,
    per_page: int = DEFAULT_PER_PAGE,
    total: int | None = None,
) -> Page[Any]:
    """One page of `queryset`, which must already be ordered (ties broken by id).

    `total`, when the caller knows it (a count kept in `catalogue_cache`), saves the
    count, which reads every row the queryset selects."""
    if total is None:
        total = await queryset.count()
    # A page past the end (an old bookmark, a list that shrank) shows the last page, and
    # the page says so (`requested`).
    number, requested = clamp(number, total, per_page)
    items = await queryset.offset((number - 1) * per_page).limit(per_page)
    return Page(
        items=list(items), number=number, per_page=per_page, total=total, requested=requested
    )
