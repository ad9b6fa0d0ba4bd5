"""The bad-token throttle: rotating addresses cannot wash out a lockout, memory stays bounded."""

from crm.api.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_locked_after_its_burst() -> None:
    throttle = FailureThrottle(burst=10, per_minute=10, clock=Clock())
    for _ in range(9):
        throttle.failed("a")
    assert throttle.retry_after("a") is None
    throttle.failed("a")
    assert throttle.retry_after("a") == 6  # one attempt per 6 s
    assert throttle.retry_after("b") is None


def test_ten_thousand_and_one_other_addresses_leave_a_lockout_in_place() -> None:
    throttle = FailureThrottle(burst=10, per_minute=10, clock=Clock())
    for _ in range(10):
        throttle.failed("first")
    for i in range(10_001):
        throttle.failed(f"2001:db8::{i:x}")
    assert throttle.retry_after("first") is not None


def test_addresses_that_may_still_try_are_forgotten_oldest_first() -> None:
    throttle = FailureThrottle(burst=2, per_minute=1, max_clients=3, clock=Clock())
    throttle.failed("old")
    throttle.failed("recent")
    for i in range(2):
        throttle.failed(f"x{i}")
    throttle.failed("old")  # forgotten: this is its first failure again
    assert throttle.retry_after("old") is None
    throttle.failed("x1")  # still remembered (the newest): its second failure locks it
    assert throttle.retry_after("x1") is not None


def test_locked_out_addresses_are_bounded_too() -> None:
    throttle = FailureThrottle(burst=1, per_minute=1, max_clients=2, clock=Clock())
    for client in ("a", "b", "c"):
        throttle.failed(client)
    assert throttle.retry_after("a") is None  # the oldest lockout gave way
    assert throttle.retry_after("b") is not None and throttle.retry_after("c") is not None
