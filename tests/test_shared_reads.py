"""Reads shared by the callers waiting: never older than the caller's request."""

from __future__ import annotations

import asyncio

import pytest

from exchange.db import SharedReads


class Counter:
    """A value that a test moves on; each read takes a moment, as a statement would."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0

    async def read(self) -> str:
        self.reads += 1
        seen = self.value
        await asyncio.sleep(0.01)
        return str(seen)


async def test_callers_arriving_together_share_one_read() -> None:
    counter = Counter()
    shared = SharedReads(counter.read)
    answers = await asyncio.gather(*(shared.read() for _ in range(50)))
    assert answers == ["0"] * 50
    assert counter.reads == 1


async def test_a_caller_arriving_during_a_read_gets_the_next_one() -> None:
    counter = Counter()
    shared = SharedReads(counter.read)
    first = asyncio.ensure_future(shared.read())
    await asyncio.sleep(0.002)  # the first read is under way, having seen 0
    counter.value = 1  # a write commits
    later = await asyncio.gather(*(shared.read() for _ in range(20)))
    assert await first == "0"
    # Each asked after the write: none may get the read that began before it.
    assert later == ["1"] * 20
    assert counter.reads == 2


async def test_a_failed_read_reaches_every_waiter_and_the_next_read_runs() -> None:
    async def failing() -> str:
        await asyncio.sleep(0.001)
        raise RuntimeError("server gone")

    shared = SharedReads(failing)
    results = await asyncio.gather(shared.read(), shared.read(), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    with pytest.raises(RuntimeError):
        await shared.read()


async def test_a_caller_going_away_leaves_the_read_to_the_others() -> None:
    counter = Counter()
    shared = SharedReads(counter.read)
    leaving = asyncio.ensure_future(shared.read())
    staying = asyncio.ensure_future(shared.read())
    await asyncio.sleep(0.002)
    leaving.cancel()
    assert await staying == "0"
    assert leaving.cancelled()
