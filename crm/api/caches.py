"""The per-app cache of what every request reads first: the caller's token.

A query per request was a large share of an order's cost. Each entry lives `ttl_s` seconds
(CACHE_TTL_S by default), which bounds how long a change made outside this process goes unseen:
a user disabled in the database is refused at most that long afterwards, in every process.
(The working calendar has its own cache, which every edit invalidates: crm.repo.calendar.)
"""

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from crm.api.throttle import FailureThrottle, TokenGate
from crm.db.engine import SessionFactory
from crm.domain.lifecycle import Actor
from crm.errors import Throttled, Unauthenticated
from crm.repo.directory import hash_token, user_by_token

CACHE_TTL_S = 2.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Expiring(Generic[K, V]):
    """Loaded values kept for `ttl_s` seconds; `invalidate` forgets them all.

    A load that overlaps an invalidation is returned but not kept, so a value read before an
    edit committed cannot outlive the invalidation that follows the commit. A failed load (an
    exception) keeps nothing.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        started = self._clock()
        hit = self._entries.get(key)
        if hit is not None and started < hit[0]:
            return hit[1]
        generation = self._generation
        value = await load()
        if generation == self._generation and self._ttl_s > 0:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (started + self._ttl_s, value)
        return value

    def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()


class Authenticator:
    """Bearer token to Actor; only tokens of active users are remembered, by their digest.

    A client (address) that keeps presenting bad tokens is throttled before the lookup,
    except with a token found valid before (`TokenGate`), which is still checked against the
    database every TTL.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        throttle: FailureThrottle | None = None,
        max_known: int = 10_000,
    ) -> None:
        self._sessions = sessions
        self._actors: Expiring[str, Actor] = Expiring(ttl_s, clock=clock)
        self._gate = TokenGate(throttle or FailureThrottle(clock=clock), max_known)

    async def actor(self, token: str, client: str = "") -> Actor:
        """The token's user; Unauthenticated for an unknown or disabled token, Throttled
        while `client` has failed too often (unless the token was found valid before)."""
        digest = hash_token(token)
        if (wait := self._gate.retry_after(digest, client)) is not None:
            raise Throttled(wait)
        try:
            actor = await self._actors.get(digest, lambda: self._load(token))
        except Unauthenticated:
            self._gate.failed(digest, client)
            raise
        self._gate.succeeded(digest)
        return actor

    def invalidate(self) -> None:
        """Forget every cached token (a user was changed through this app)."""
        self._actors.invalidate()

    async def _load(self, token: str) -> Actor:
        async with self._sessions() as session:
            user = await user_by_token(session, token)
        if user is None:
            raise Unauthenticated("unauthenticated", "unknown or disabled token")
        return Actor(user.id, user.role, user.unit_id)
