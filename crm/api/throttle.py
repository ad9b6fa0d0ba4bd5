"""Failed authentications per client address, limited before any token is looked up.

Each address may fail `burst` times at once and `per_minute` times a minute after that; beyond
it the caller is told to wait (429 with Retry-After) without the token being looked up in the
database, so a flood of bad tokens costs a dict lookup per request and cannot crowd the event
loop that also serves screen pops. Only failures count. In memory, per process, bounded: at
most `max_clients` addresses that may still try and `max_clients` locked-out ones, each set
forgetting its least recently failed address first. Addresses failing once each (rotated
IPv6 addresses) thus push out one another, never the addresses already locked out.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable

Entries = OrderedDict[str, tuple[float, float]]  # client -> (allowance, at), oldest first


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
        self._trying: Entries = OrderedDict()
        self._locked: Entries = OrderedDict()

    def _current(self, client: str, now: float) -> float:
        entry = self._locked.get(client) or self._trying.get(client) or (self._burst, now)
        allowance, at = entry
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
        allowance = max(0.0, self._current(client, now) - 1)
        self._trying.pop(client, None)
        self._locked.pop(client, None)
        entries = self._locked if allowance < 1 else self._trying
        entries[client] = (allowance, now)
        if len(entries) > self._max_clients:
            entries.popitem(last=False)


class TokenGate:
    """A `FailureThrottle` that lets through the tokens it has seen succeed (the last
    `max_known`, by digest), so that one bad client behind a shared NAT or proxy does not lock
    out the good users sharing its address; such tokens are still checked every time."""

    def __init__(self, throttle: FailureThrottle | None = None, max_known: int = 10_000) -> None:
        self.throttle = throttle or FailureThrottle()
        self._known: OrderedDict[str, None] = OrderedDict()  # oldest first
        self._max_known = max_known

    def retry_after(self, digest: str, client: str) -> int | None:
        """Seconds `client` must wait before trying the token of `digest`, or None."""
        return None if digest in self._known else self.throttle.retry_after(client)

    def failed(self, digest: str, client: str) -> None:
        self._known.pop(digest, None)
        self.throttle.failed(client)

    def succeeded(self, digest: str) -> None:
        self._known[digest] = None
        self._known.move_to_end(digest)
        if len(self._known) > self._max_known:
            self._known.popitem(last=False)
