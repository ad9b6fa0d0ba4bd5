"""The single AMI consumer: order, bad input, failing listeners, connection loss and re-sync.

The AMI source is an in-memory stand-in (queue + canned list answers); what it feeds is real
traffic from tests/fixtures/ami.
"""

from __future__ import annotations

import asyncio
from types import MappingProxyType

import pytest

from telephony.ami_connection import (
    AmiActionError,
    AmiConnected,
    AmiConnectionLost,
    AmiDisconnected,
    AmiEvent,
    AmiItem,
)
from telephony.call import CallChanged, CallState
from telephony.events import DomainEvent
from telephony.service import TelephonyService
from telephony.tracker import CallTracker
from tests.support.ami_replay import ami_events, load_stream


class CannedAmi:
    def __init__(
        self,
        lists: dict[str, list[dict[str, str]]] | None = None,
        variables: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self.events: asyncio.Queue[AmiItem] = asyncio.Queue()
        self.lists = lists or {}
        self.variables = variables or {}  # (channel, variable) → value, as Getvar answers
        self.actions: list[tuple[str, dict[str, str]]] = []

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        """Getvar as Asterisk 16 answers it: an unknown channel is an error."""
        self.actions.append((name, headers))
        if name != "Getvar" or headers["Channel"] not in {c for c, _ in self.variables}:
            raise AmiActionError(name, {"Response": "Error", "Message": "No such channel"})
        value = self.variables.get((headers["Channel"], headers["Variable"]), "")
        return {"Response": "Success", "Variable": headers["Variable"], "Value": value}

    async def action_list(
        self, name: str, timeout: float = 10.0, **headers: str
    ) -> list[dict[str, str]]:
        if name not in self.lists:
            raise AmiConnectionLost(name)
        return self.lists[name]

    def feed(self, stream: str) -> None:
        for h in ami_events(load_stream(stream)):
            self.events.put_nowait(AmiEvent(h["Event"], MappingProxyType(h)))


BOOTED = AmiEvent(
    "FullyBooted", MappingProxyType({"Event": "FullyBooted", "Status": "Fully Booted"})
)


async def drain(ami: CannedAmi) -> None:
    async with asyncio.timeout(5):
        await ami.events.join()


async def test_recorded_call_flows_through_in_order() -> None:
    ami = CannedAmi()
    seen: list[CallChanged] = []

    async def listener(effect: CallChanged) -> None:
        seen.append(effect)

    async with TelephonyService(ami, CallTracker(), [listener]) as service:
        ami.feed("answered")
        await drain(ami)
    states = [e.call.state for e in seen]
    assert states[0] is CallState.IN_IVR and states[-1] is CallState.ENDED
    assert service.stats.malformed == 0 and service.stats.events > 20


@pytest.mark.parametrize(
    "bad",
    [
        {"Event": "Hangup"},
        {"Event": "Newchannel", "Timestamp": "x", "Uniqueid": "1", "Linkedid": "1", "Channel": "c"},
        {
            "Event": "AgentComplete",
            "Timestamp": "1",
            "Reason": "?",
            "Uniqueid": "1",
            "Linkedid": "1",
            "Channel": "c",
            "Queue": "q",
            "Interface": "i",
        },
        {"Event": "SomethingNew", "Data": "长" * 5000},
    ],
)
async def test_bad_events_are_logged_and_the_consumer_goes_on(
    bad: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    ami = CannedAmi()
    tracker = CallTracker()
    async with TelephonyService(ami, tracker) as service:
        ami.events.put_nowait(AmiEvent(bad["Event"], MappingProxyType(bad)))
        ami.feed("answered")
        await drain(ami)
    [call] = tracker.ended.values()
    assert call.state is CallState.ENDED  # everything after the bad event was applied
    if bad["Event"] != "SomethingNew":
        assert service.stats.malformed == 1
        assert f"malformed AMI event {bad['Event']!r} skipped" in caplog.text
        assert f"headers: Event={bad['Event']!r}" in caplog.text


async def test_a_malformed_events_caller_fields_stay_out_of_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = {
        "Event": "Newchannel", "Timestamp": "x", "Uniqueid": "1", "Linkedid": "1",
        "Channel": "c", "CallerIDNum": "13812345678",
        "CallerIDName": "张三", "ConnectedLineNum": "13712345678",
        "ConnectedLineName": "李四", "DestCallerIDNum": "13612345678",
    }  # fmt: skip
    ami = CannedAmi()
    async with TelephonyService(ami, CallTracker()) as service:
        ami.events.put_nowait(AmiEvent(bad["Event"], MappingProxyType(bad)))
        ami.feed("answered")
        await drain(ami)
        assert service.stats.malformed == 1
    assert "CallerIDNum=<redacted>" in caplog.text
    for personal in ("13812345678", "张三", "13712345678", "李四", "13612345678"):
        assert personal not in caplog.text


async def test_event_listeners_see_every_domain_event_before_the_tracker() -> None:
    ami = CannedAmi()
    order: list[str] = []
    tracker = CallTracker()

    async def on_event(event: DomainEvent) -> None:
        order.append(f"event:{type(event).__name__}:{len(tracker.ended)}")

    async def on_effect(effect: CallChanged) -> None:
        order.append(f"effect:{effect.call.state}")

    async with TelephonyService(ami, tracker, [on_effect], [on_event]):
        ami.feed("answered")
        await drain(ami)
    assert "event:QueueMemberChanged:0" in order  # not a call event, still seen
    hangup = order.index("event:ChannelHungUp:0")
    assert order[hangup + 1] == "effect:ended"


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    ami = CannedAmi()
    good: list[CallChanged] = []

    async def broken(effect: CallChanged) -> None:
        raise RuntimeError("listener bug")

    async def fine(effect: CallChanged) -> None:
        good.append(effect)

    async with TelephonyService(ami, CallTracker(), [broken, fine]) as service:
        ami.feed("answered")
        await drain(ami)
    assert good and good[-1].call.state is CallState.ENDED
    assert service.stats.listener_errors == len(good)


async def test_disconnect_ends_calls_and_reconnect_resyncs_from_asterisk() -> None:
    channels = [
        {
            "Event": "CoreShowChannel",
            "Channel": "PJSIP/carrier-00000009",
            "Uniqueid": "9.9",
            "Linkedid": "9.9",
            "Context": "hotline-inbound",
            "Application": "Queue",
            "BridgeId": "",
            "Duration": "00:00:05",
            "CallerIDNum": "139",
            "CallerIDName": "李四",
        }
    ]
    entries = [
        {"Event": "QueueEntry", "Queue": "hotline", "Uniqueid": "9.9", "Wait": "3"},
        {"Event": "QueueParams", "Queue": "hotline"},
    ]
    ami = CannedAmi({"CoreShowChannels": channels, "QueueStatus": entries})
    tracker = CallTracker()
    async with TelephonyService(ami, tracker) as service:
        events = list(ami_events(load_stream("answered")))
        connect = next(i for i, h in enumerate(events) if h["Event"] == "AgentConnect")
        for h in events[: connect + 1]:  # up to talking
            ami.events.put_nowait(AmiEvent(h["Event"], MappingProxyType(h)))
        await drain(ami)
        [talking] = tracker.calls.values()
        assert talking.state is CallState.TALKING
        ami.events.put_nowait(AmiDisconnected(1.0, "connection reset"))
        await drain(ami)
        assert tracker.calls == {} and not service.stats.connected
        assert tracker.ended[talking.linkedid].end_reason.startswith("asterisk connection lost")
        ami.events.put_nowait(AmiConnected(2.0))
        await drain(ami)
        assert service.stats.resyncs == 0  # Asterisk may still be booting: no re-sync yet
        ami.events.put_nowait(BOOTED)
        await service.wait_synced(5)
    assert service.stats.connected and service.stats.resyncs == 1
    assert set(tracker.calls) == {"9.9"} and tracker.calls["9.9"].state is CallState.QUEUED


async def test_resync_failure_is_logged_and_retried_on_next_connect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ami = CannedAmi()  # no list answers: the actions fail as on a dropped link (or, while
    # Asterisk still boots, as an unknown action: both are retried on the next connection)
    async with TelephonyService(ami, CallTracker()) as service:
        ami.events.put_nowait(AmiConnected(1.0))
        ami.events.put_nowait(BOOTED)
        await drain(ami)
    assert service.stats.resyncs == 0 and "re-sync failed" in caplog.text


def _waiting(uniqueid: str, channel: str) -> list[dict[str, str]]:
    return [{
        "Event": "CoreShowChannel", "Channel": channel, "Uniqueid": uniqueid,
        "Linkedid": uniqueid, "Context": "hotline-inbound", "Application": "Queue",
        "BridgeId": "", "Duration": "00:00:40", "CallerIDNum": "139", "CallerIDName": "李四",
    }]  # fmt: skip


async def test_a_resync_asks_asterisk_for_the_recording_of_each_call_it_rebuilds() -> None:
    # The dialplan set HOTLINE_RECORDING on the caller's channel before the queue: a backend
    # (re)started while the caller waits learns the name from Asterisk (Getvar), no guess.
    waiting = _waiting("7.7", "PJSIP/carrier-00000007") + _waiting("8.8", "PJSIP/carrier-08")
    entries = [
        {"Event": "QueueEntry", "Queue": "hotline", "Uniqueid": "7.7", "Wait": "30"},
        {"Event": "QueueEntry", "Queue": "hotline", "Uniqueid": "8.8", "Wait": "31"},
    ]
    name = "20261201/7.7.wav"
    ami = CannedAmi(
        {"CoreShowChannels": waiting, "QueueStatus": entries},
        {("PJSIP/carrier-00000007", "HOTLINE_RECORDING"): name},  # 8.8 hung up meanwhile
    )
    tracker = CallTracker()
    async with TelephonyService(ami, tracker) as service:
        ami.events.put_nowait(AmiConnected(1.0))
        ami.events.put_nowait(BOOTED)
        await service.wait_synced(5)
    assert tracker.calls["7.7"].state is CallState.QUEUED
    assert tracker.calls["7.7"].recording == name
    assert tracker.calls["8.8"].recording == ""  # Asterisk's error: no name, the rest goes on
    asked = sorted(h["Channel"] for n, h in ami.actions if n == "Getvar")
    assert asked == ["PJSIP/carrier-00000007", "PJSIP/carrier-08"]
    assert {h["Variable"] for _n, h in ami.actions} == {"HOTLINE_RECORDING"}
