"""The per-app token cache (Expiring): entries expire, edits invalidate, failures stay out."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from crm.api.caches import Expiring


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting(value: str) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def load() -> str:
        calls.append(1)
        return value

    return calls, load


async def test_a_value_is_loaded_once_per_ttl() -> None:
    clock = Clock()
    cache: Expiring[str, str] = Expiring(2.0, clock=clock)
    calls, load = counting("v")
    assert await cache.get("k", load) == "v"
    clock.now += 1.9
    assert await cache.get("k", load) == "v"
    assert len(calls) == 1
    clock.now += 0.1  # the bound is exact: at ttl the value is read again
    assert await cache.get("k", load) == "v"
    assert len(calls) == 2


async def test_invalidate_forgets_every_entry() -> None:
    cache: Expiring[str, str] = Expiring(60.0, clock=Clock())
    calls, load = counting("v")
    await cache.get("a", load)
    await cache.get("b", load)
    cache.invalidate()
    await cache.get("a", load)
    await cache.get("b", load)
    assert len(calls) == 4


async def test_a_load_overlapping_an_invalidation_is_not_kept() -> None:
    """A value read before an edit committed must not outlive the edit's invalidation."""
    cache: Expiring[str, str] = Expiring(60.0, clock=Clock())
    release = asyncio.Event()

    async def slow_stale_load() -> str:
        await release.wait()
        return "stale"

    pending = asyncio.ensure_future(cache.get("k", slow_stale_load))
    await asyncio.sleep(0)
    cache.invalidate()
    release.set()
    assert await pending == "stale"  # the caller that started it still gets its answer
    calls, load = counting("fresh")
    assert await cache.get("k", load) == "fresh"
    assert len(calls) == 1


async def test_failed_loads_are_not_kept() -> None:
    cache: Expiring[str, str] = Expiring(60.0, clock=Clock())

    async def refuse() -> str:
        raise LookupError("unknown token")

    with pytest.raises(LookupError):
        await cache.get("k", refuse)
    calls, load = counting("v")
    assert await cache.get("k", load) == "v"
    assert len(calls) == 1


async def test_zero_ttl_turns_caching_off() -> None:
    cache: Expiring[str, str] = Expiring(0.0, clock=Clock())
    calls, load = counting("v")
    await cache.get("k", load)
    await cache.get("k", load)
    assert len(calls) == 2


async def test_the_cache_stays_bounded() -> None:
    cache: Expiring[int, str] = Expiring(60.0, max_entries=3, clock=Clock())
    calls, load = counting("v")
    for key in range(10):
        await cache.get(key, load)
    assert len(calls) == 10
    await cache.get(9, load)  # the newest entry survived the last clearing
    assert len(calls) == 10
