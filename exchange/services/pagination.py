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


def page_of_ids(ids: Sequence[int], number: int, per_page: int = DEFAULT_PER_PAGE) -> Page[int]:
    """One page of an ordered list of ids held in memory, numbered as `paginate` does."""
    total = len(ids)
    number = min(number, max(1, -(-total // per_page)))
    start = (number - 1) * per_page
    return Page(
        items=list(ids[start : start + per_page]), number=number, per_page=per_page, total=total
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
    # A page past the end (an old bookmark, a list that shrank) shows the last page.
    number = min(number, max(1, -(-total // per_page)))
    items = await queryset.offset((number - 1) * per_page).limit(per_page)
    return Page(items=list(items), number=number, per_page=per_page, total=total)
