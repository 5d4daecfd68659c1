"""What library pages derive from the whole catalogue, kept per worker until it changes.

Counts over every practice, the filter choices of the directory, a challenge's practices
and cities in page order: each costs a scan that grows with the catalogue, and every
request would otherwise repeat it although the catalogue rarely changes. Entries are kept
under the catalogue version (`catalogue_version`, bumped in the transaction of every
change to cities, practices or the taxonomy, by any worker), read once per use with one
primary-key lookup: the first request after a change computes afresh, the others reuse.

Only what anyone may see goes here (published practices, cities, the taxonomy), never
something that depends on who asks. Memory is bounded by the catalogue's shape: a few
counts, and for each challenge term two arrays of ids (4 bytes an id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from exchange.services import catalogue_version

T = TypeVar("T")

# Keys can come from a URL (a directory filter), so there is a ceiling: past it, values
# are computed and not kept until the next change clears the lot.
MAX_ENTRIES = 2_000

_entries: dict[str, Any] = {}
_version: list[int | None] = [None]


async def cached(key: str, compute: Callable[[], Awaitable[T]]) -> T:
    """`compute()`'s value, computed at most once per catalogue version in this worker.

    The version is read before computing, so a value is never newer-stamped than its
    data: a change committed meanwhile moves the version and the next request recomputes.
    """
    version = await catalogue_version.current()
    if version != _version[0]:
        _entries.clear()
        _version[0] = version
    if key in _entries:
        value: T = _entries[key]
        return value
    value = await compute()
    if _version[0] == version and len(_entries) < MAX_ENTRIES:
        _entries[key] = value
    return value


def clear() -> None:
    """Forget everything (for tests that write catalogue rows without the services)."""
    _entries.clear()
    _version[0] = None
