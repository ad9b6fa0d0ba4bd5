"""A spy session the database will not take: retried after 1, 2, 4… s, not at every wake,
and given up after MAX_TRIES (counted in `dropped`), not retried for ever."""

from __future__ import annotations

from typing import Any

from call_log.spy_audit import MAX_TRIES, SpyAudit
from telephony.spy import SpyMode, SpySession


class Broken:
    def __init__(self) -> None:
        self.tries = 0

    def __call__(self) -> Broken:
        return self

    async def __aenter__(self) -> Any:
        self.tries += 1
        raise OSError("database away")

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_retries_back_off_and_stop() -> None:
    now = [0.0]
    db = Broken()
    audit = SpyAudit(db, clock=lambda: now[0])  # type: ignore[arg-type]
    await audit.on_session(SpySession("1.4", "8001", "1.1", "1001", "PJSIP/1001-1",
                                      SpyMode.LISTEN, 1.0))  # fmt: skip
    await audit.flush()
    assert db.tries == 1
    await audit.flush()  # woken by another change at once: not yet
    assert db.tries == 1
    gaps = []
    while audit.dropped == 0:
        before = db.tries
        step = 0.0
        while db.tries == before:
            step += 0.5
            now[0] += 0.5
            await audit.flush()
            assert step < 1000, "never retried"
        gaps.append(step)
    assert db.tries == MAX_TRIES and gaps[:3] == [1.0, 2.0, 4.0]
    await audit.flush()
    assert db.tries == MAX_TRIES and audit._latest == {}  # given up: not retried
