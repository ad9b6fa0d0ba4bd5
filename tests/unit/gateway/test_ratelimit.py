"""The flood control's arithmetic, on a fake clock."""

from __future__ import annotations

from agent_gateway.edge.ratelimit import RateLimiter, Verdict


def verdicts(limiter: RateLimiter, count: int, at: float) -> list[Verdict]:
    return [limiter.check(at) for _ in range(count)]


def test_burst_then_refusals_then_refill() -> None:
    limiter = RateLimiter(rate=20, burst=20, abuse_after=60, now=0.0)
    assert verdicts(limiter, 20, 0.0) == [Verdict.ALLOW] * 20
    assert verdicts(limiter, 5, 0.0) == [Verdict.REFUSE] * 5
    assert verdicts(limiter, 2, 0.1) == [Verdict.ALLOW, Verdict.ALLOW]  # 0.1 s at 20/s
    assert limiter.check(0.1) is Verdict.REFUSE


def test_steady_rate_is_never_refused() -> None:
    limiter = RateLimiter(rate=20, burst=20, abuse_after=60, now=0.0)
    assert all(limiter.check(i / 20) is Verdict.ALLOW for i in range(1000))


def test_persistent_flood_becomes_abuse() -> None:
    limiter = RateLimiter(rate=20, burst=20, abuse_after=60, now=0.0)
    result = verdicts(limiter, 81, 0.0)
    assert result[:80].count(Verdict.REFUSE) == 60 and result[-1] is Verdict.ABUSE


def test_refusals_are_forgiven_over_time() -> None:
    limiter = RateLimiter(rate=20, burst=20, abuse_after=60, now=0.0)
    verdicts(limiter, 70, 0.0)  # 50 refused: close to the limit
    assert verdicts(limiter, 20, 5.0) == [Verdict.ALLOW] * 20
    assert Verdict.ABUSE not in verdicts(limiter, 60, 5.0)
