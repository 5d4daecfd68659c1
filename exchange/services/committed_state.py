"""Values read for signed-in readers, kept while the data they were read from is unchanged.

A signed-in request first names the database's committed state (`db.committed_state`:
one cheap statement on PostgreSQL, shared by the requests waiting for it; two counters
read in-process on SQLite) and reads what it needs after that. Whatever it read may be
kept under that state: a later request naming the same state knows that no row has been
written since, by this worker or any other process, so the kept value is still true. A
sign-out, a role change or a new notice made through another worker therefore shows on
the very next request, and a reader who changes nothing costs at most that one shared
statement per request for what would otherwise be several (their session, their unread
notices, their page: `web/member_pages.py`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from exchange import db

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def read() -> str | None:
    """The committed state now, or None when nothing read now may be kept."""
    return await db.committed_state()


class KeptUnderState(Generic[K, V]):
    """Values kept under the latest committed state a request named, `max_items` at most.

    A request naming another state drops them all: each was read from older data (or,
    for a request that named its state before this one, is dropped a moment early).
    """

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._state: str | None = None
        self._values: OrderedDict[K, V] = OrderedDict()

    def get(self, state: str | None, key: K) -> V | None:
        if state is None:
            return None
        if state != self._state:
            self.forget()
            self._state = state
            return None
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def keep(self, state: str | None, key: K, value: V) -> None:
        """Keep `value`, read after `state` was named, unless the state has moved since."""
        if state is None or state != self._state:
            return
        self._values[key] = value
        if len(self._values) > self.max_items:
            self._values.popitem(last=False)

    def forget(self) -> None:
        self._values.clear()
        self._state = None
