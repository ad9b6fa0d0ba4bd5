"""The spy_session messages: ringing told apart from calling, an end with its reason in
Chinese; the live session kept in Redis for the snapshot, an ended one removed."""

from __future__ import annotations

import dataclasses
from typing import Any

from agent_gateway.desk.spy_publisher import SpyPublisher, update_of
from telephony.spy import SpyCode, SpyMode, SpySession, ended

CALLING = SpySession("1.4", "8001", "1.1", "1001", "PJSIP/1001-1", SpyMode.LISTEN, 1.0,
                     requested_by=7)  # fmt: skip


class Pipe:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def hset(self, *args: Any) -> None:
        self.calls.append(("hset", args))

    def hdel(self, *args: Any) -> None:
        self.calls.append(("hdel", args))


class Writer:
    def __init__(self) -> None:
        self.outs: list[Any] = []

    def submit(self, out: Any) -> None:
        self.outs.append(out)


def test_phases_and_reasons() -> None:
    assert update_of(CALLING)["phase"] == "calling"
    assert update_of(dataclasses.replace(CALLING, ringing_at=2.0))["phase"] == "ringing"
    gone = update_of(ended(CALLING, 3.0, SpyCode.NO_ANSWER))
    assert (gone["phase"], gone["end_code"], gone["reason"]) == (
        "ended",
        "no_answer",
        "您的话机未应答",
    )
    assert update_of(ended(CALLING, 3.0, SpyCode.LOST))["reason"] == "后台重启期间会话已中断"


async def test_live_kept_for_the_snapshot_ended_removed_both_on_the_users_topic() -> None:
    writer = Writer()
    publisher = SpyPublisher(writer)  # type: ignore[arg-type]
    await publisher.on_session(CALLING)
    await publisher.on_session(ended(CALLING, 3.0, SpyCode.LEFT))
    done = []
    for out in writer.outs:
        for write in out.writes:
            if callable(write):
                pipe = Pipe()
                write(pipe)
                done += [name for name, _ in pipe.calls]
            else:
                done.append(write[0])
    assert done == ["hset", "user.7", "hdel", "user.7"]
