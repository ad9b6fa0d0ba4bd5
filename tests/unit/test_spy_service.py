"""SpyService without Asterisk: requests refused before anything is sent, and sessions whose
channel is gone at a re-sync ended."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from telephony.events import ChannelCreated, ChannelHungUp, QueueMembersListed
from telephony.spy import SpyCode, SpyFailed, SpyMode, SpySession
from telephony.spy_service import SpyService
from telephony.tracker import CallTracker


class FakeAmi:
    def __init__(self, channels: list[dict[str, str]]) -> None:
        self.channels = channels
        self.actions: list[tuple[str, dict[str, Any]]] = []

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        self.actions.append((name, headers))
        return {"Response": "Success"}

    async def action_list(self, name: str, timeout: float = 10.0, **headers: str
                          ) -> list[dict[str, str]]:  # fmt: skip
        self.actions.append((name, headers))
        return self.channels


def service(ami: FakeAmi) -> SpyService:
    return SpyService(ami, CallTracker(), lambda _linkedid: None, ["8001"])


async def test_refused_requests_send_nothing_but_the_channel_list() -> None:
    ami = FakeAmi([])
    spy = service(ami)
    with pytest.raises(SpyFailed) as refused:
        await spy.start("1001", "1.2", "listen")
    assert refused.value.code is SpyCode.NOT_A_SUPERVISOR_PHONE and ami.actions == []
    with pytest.raises(SpyFailed) as refused:
        await spy.start("8001", "1.2", "listen")
    assert refused.value.code is SpyCode.NO_CALL
    assert [name for name, _ in ami.actions] == ["CoreShowChannels"]  # no Originate


async def test_a_session_whose_channel_is_gone_at_a_resync_ends_lost() -> None:
    kept = {"Event": "CoreShowChannel", "Uniqueid": "1.5", "Channel": "PJSIP/8002-2"}
    spy = service(FakeAmi([kept]))
    ended: list[SpySession] = []

    async def listen(s: SpySession) -> None:
        if not s.live:
            ended.append(s)

    spy.listeners.append(listen)
    for uniqueid, phone in (("1.4", "8001"), ("1.5", "8002")):
        spy.sessions[uniqueid] = SpySession(uniqueid, phone, "1.1", "1001", "PJSIP/1001-1",
                                            SpyMode.LISTEN, 1.0)  # fmt: skip
    await spy.on_event(QueueMembersListed(2.0, ()))
    for _ in range(20):
        await asyncio.sleep(0)
    assert [(s.uniqueid, s.end_code) for s in ended] == [("1.4", "lost")]
    assert list(spy.sessions) == ["1.5"]


async def test_a_leave_while_ringing_hangs_up_a_channel_made_after_it() -> None:
    """Left before Asterisk made the phone's channel: it is hung up once made; it ends left."""
    ami = FakeAmi([])
    spy = service(ami)
    spy.sessions["1.4"] = SpySession("1.4", "8001", "1.1", "1001", "PJSIP/1001-1",
                                     SpyMode.LISTEN, 1.0)  # fmt: skip
    spy._last["1.4"] = spy.sessions["1.4"]
    leaving = asyncio.create_task(spy.leave("8001"))
    for _ in range(5):
        await asyncio.sleep(0)
    await spy.on_event(ChannelCreated(2.0, "1.4", "1.4", "PJSIP/8001-1", "", "", "hotline-spy",
                                      "listen"))  # fmt: skip
    for _ in range(5):
        await asyncio.sleep(0)
    assert [h["Channel"] for n, h in ami.actions if n == "Hangup"] == ["1.4", "1.4"]
    await spy.on_event(ChannelHungUp(3.0, "1.4", "1.4", "PJSIP/8001-1", 16, "Normal"))
    left = await leaving
    assert left.end_code == SpyCode.LEFT and left.joined_at is None


async def test_open_sessions_on_record_adopted_if_asterisk_has_them_else_ended_lost() -> None:
    up = {"Event": "CoreShowChannel", "Uniqueid": "1.4", "Channel": "PJSIP/8001-1",
          "Context": "hotline-spy", "Exten": "whisper", "ChannelStateDesc": "Up",
          "Application": "ChanSpy", "ApplicationData": "PJSIP/1001-1,qEw"}  # fmt: skip
    spy = service(FakeAmi([up]))
    seen: list[SpySession] = []

    async def listen(s: SpySession) -> None:
        seen.append(s)

    async def recover() -> list[SpySession]:
        return [SpySession(u, p, "1.1", "1001", "", SpyMode.LISTEN, 1.0, joined_at=2.0)
                for u, p in (("1.4", "8001"), ("1.5", "8002"))]  # fmt: skip

    spy.listeners.append(listen)
    spy.recover = recover
    await spy.on_event(QueueMembersListed(2.0, ()))
    for _ in range(20):
        await asyncio.sleep(0)
    kept = spy.session_of("8001")
    assert kept is not None and kept.mode is SpyMode.WHISPER and kept.phase == "joined"
    assert kept.spyee_channel == "PJSIP/1001-1" and kept.spyer_channel == "PJSIP/8001-1"
    (lost,) = [s for s in seen if s.uniqueid == "1.5"]
    assert lost.end_code == SpyCode.LOST and lost.ended_at and lost.duration_s
