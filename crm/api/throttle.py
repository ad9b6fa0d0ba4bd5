"""Failed authentications per client address, limited before any token is looked up.

Each address may fail `burst` times at once and `per_minute` times a minute after that; beyond
it the caller is told to wait (429 with Retry-After) without the token being hashed or looked
up, so a flood of bad tokens costs a dict lookup per request and cannot crowd the event loop
that also serves screen pops. Only failures count: a good token is never slowed. In memory,
per process; bounded by forgetting every address once `max_clients` are tracked.
"""

import math
import time
from collections.abc import Callable


class FailureThrottle:
    def __init__(
        self,
        burst: int = 10,
        per_minute: float = 10,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._rate = per_minute / 60
        self._max_clients = max_clients
        self._clock = clock
        self._allowance: dict[str, tuple[float, float]] = {}  # client -> (allowance, at)

    def _current(self, client: str, now: float) -> float:
        allowance, at = self._allowance.get(client, (self._burst, now))
        return min(self._burst, allowance + (now - at) * self._rate)

    def retry_after(self, client: str) -> int | None:
        """Seconds `client` must wait before its next attempt, or None if it may try now."""
        now = self._clock()
        allowance = self._current(client, now)
        if allowance >= 1:
            return None
        return max(1, math.ceil((1 - allowance) / self._rate))

    def failed(self, client: str) -> None:
        """Count one failed authentication of `client`."""
        now = self._clock()
        allowance = self._current(client, now)
        if client not in self._allowance and len(self._allowance) >= self._max_clients:
            self._allowance.clear()
        self._allowance[client] = (max(0.0, allowance - 1), now)
