"""Per-connection flood control: a token bucket, and a meter of refused messages.

A desktop may burst (`burst` messages at once) and sustain `rate` per second; beyond that a
message is refused but the connection stays. A client that keeps sending far beyond the
limit (the refusals pile up faster than they drain) is abusive and is disconnected. Pure: the
caller passes the clock.
"""

from __future__ import annotations

from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    REFUSE = "refuse"
    ABUSE = "abuse"


class RateLimiter:
    def __init__(self, rate: float, burst: int, abuse_after: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.abuse_after = abuse_after
        self._tokens = float(burst)
        self._refused = 0.0
        self._at = now

    def check(self, now: float) -> Verdict:
        elapsed, self._at = max(0.0, now - self._at), now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._refused = max(0.0, self._refused - elapsed * self.rate)
        if self._tokens >= 1:
            self._tokens -= 1
            return Verdict.ALLOW
        self._refused += 1
        return Verdict.ABUSE if self._refused > self.abuse_after else Verdict.REFUSE
