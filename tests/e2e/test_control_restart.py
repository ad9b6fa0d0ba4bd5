"""A backend killed with SIGKILL in the middle of a controlled call (the caller on hold, or a
three-party call with 110, each set up from the agent's desk): the restarted backend
rebuilds the call's control state from Asterisk's own lists (the rooms, the channels), so
the agent's next desk command works: resume, or leave the three-party call. Checked in
Asterisk's `ConfbridgeList` and `CoreShowChannels`; every phone sends its tone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from websockets.asyncio.client import connect

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from crm.db.call_models import CallEvent
from crm.domain.calls import CallEventKind
from hotline_cli.app import Hotline, running_hotline
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami import AmiClient
from telephony.ami_connection import AmiActionError
from telephony.call import CallState
from telephony.call_control import ConsultState, Room
from telephony.dialplan import consult_room, main_room
from tests.e2e.harness import backend_config, backend_process, kill_left_asterisk
from tests.support.audio import AGENT_A_HZ, AGENT_B_HZ, CALLER_HZ, tone_pcap
from tests.support.polling import eventually

POLL_S = 0.1


async def _user_token(config: Path, ext: str) -> str:
    """An agent user bound to `ext`, made with the CLI before the backend starts."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline_cli.main", "--config", str(config), "user", "add",
        "王芳", "--role", "agent", "--agent", ext, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    return out.decode().rsplit(": ", 1)[1].strip()


@dataclass
class Rig:
    settings: Settings
    ami: AmiClient  # the test's own AMI login: Asterisk's lists, whichever backend runs
    token: str
    first: asyncio.subprocess.Process
    calling: asyncio.Task[Any]

    async def desk(self, name: str, **args: Any) -> dict[str, Any]:
        """`name` sent from agent 1001's desk (a real websocket); its command_result."""
        s = self.settings
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{s.http.port}/api/desk/ticket", json={"extension": "1001"},
            headers={"Authorization": f"Bearer {self.token}"},
        ) as r:  # fmt: skip
            assert r.status == 200, await r.text()
            ticket = (await r.json())["ticket"]
        async with (
            connect(f"ws://127.0.0.1:{s.gateway.port}/?ticket={ticket}") as ws,
            asyncio.timeout(30),
        ):
            command = {"type": "command", "id": "c1", "name": name, "args": args}
            await ws.send(json.dumps(command))
            while True:
                frame: dict[str, Any] = json.loads(await ws.recv())
                if frame["type"] == "command_result" and frame["id"] == "c1":
                    return frame

    async def room(self, name: str) -> set[str]:
        """The channels of a ConfBridge room as Asterisk lists them (no hold-music player)."""
        try:
            items = await self.ami.action_list("ConfbridgeList", Conference=name)
        except AmiActionError:  # "No Conference by that name found."
            return set()
        return {i["Channel"] for i in items if i.get("Event") == "ConfbridgeList"
                and "@hotline-hold-music-" not in i["Channel"]}  # fmt: skip

    async def channels(self) -> list[str]:
        listed = await self.ami.action_list("CoreShowChannels")
        return [c["Channel"] for c in listed if c.get("Event") == "CoreShowChannel"]

    async def kill_first(self) -> None:
        self.first.kill()  # the backend dies mid-call; Asterisk and Redis run on
        await self.first.wait()


async def _events_when(hotline: Hotline, linkedid: str, last: CallEventKind,
                       timeout: float = 20) -> list[CallEventKind]:  # fmt: skip
    """The call's control events on its record once `last` is there (the writer batches)."""
    k = CallEventKind
    control = {k.HELD, k.RESUMED, k.MUTED, k.UNMUTED, k.CONSULT_STARTED, k.TRUNK_ATTEMPT,
               k.CONSULT_ANSWERED, k.CONSULT_FAILED, k.CONSULT_CANCELLED, k.THREE_WAY,
               k.TRANSFERRED, k.PARTY_LEFT}  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        async with hotline.sessions() as session:
            rows = await session.scalars(select(CallEvent).where(CallEvent.linkedid == linkedid)
                                         .order_by(CallEvent.at, CallEvent.id))  # fmt: skip
            found = [r.kind for r in rows if r.kind in control]
        if last in found:
            return found
        assert time.monotonic() < deadline, f"no {last} on record: {found}"
        await asyncio.sleep(0.2)


@asynccontextmanager
async def _talking(
    tmp: Path, trunk_port: int | None = None, ring_ms: int = 300, dial_timeout_s: int = 5
) -> AsyncIterator[Rig]:
    """A backend in a process of its own, a caller talking with agent 1001 (and, with
    `trunk_port`, 110's primary there, answering after `ring_ms` and speaking its tone)."""
    phone_port = free_udp_port()
    config = backend_config(tmp, [("1001", "王芳", phone_port)])
    if trunk_port is not None:
        with config.open("a", encoding="utf-8") as f:
            f.write(f'''
[trunks.police]
number = "110"
primary = "127.0.0.1:{trunk_port}"
backup = "127.0.0.1:{free_udp_port()}"
dial_timeout_s = {dial_timeout_s}
''')
    settings = resolve_secrets(load_settings(config))
    token = await _user_token(config, "1001")
    tones = {name: tone_pcap(tmp / f"{name}.pcap", hz, 90)
             for name, hz in (("caller", CALLER_HZ), ("agent", AGENT_A_HZ), ("op", AGENT_B_HZ))}
    first = await backend_process(config)
    ami = AmiClient(host=settings.ami.host, port=settings.ami.port,
                    username=settings.ami.username,
                    secret=settings.ami.secret.get_secret_value())  # fmt: skip
    sipp = tmp / "sipp"
    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(ami)
            await stack.enter_async_context(
                AgentPhone(sipp, "127.0.0.1", phone_port, 300, tones["agent"]))
            if trunk_port is not None:
                await stack.enter_async_context(
                    AgentPhone(sipp, "127.0.0.1", trunk_port, ring_ms, tones["op"]))
            await ami.wait_connected(10)
            plan = CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=90_000,
                              audio=tones["caller"])  # fmt: skip
            calling = asyncio.create_task(place_calls(
                sipp, target=f"127.0.0.1:{settings.sip.port}",
                service=settings.centre.inbound_number,
                callers=[CallerIdentity("吴九", "13900009999")], plan=plan,
                source_ip=settings.carrier.match, timeout_s=150,
            ))  # fmt: skip
            rig = Rig(settings, ami, token, first, calling)

            async def answered() -> bool:
                listed = await ami.action_list("CoreShowChannels")
                return any(c.get("Channel", "").startswith("PJSIP/1001-")
                           and c.get("ChannelStateDesc") == "Up" for c in listed)  # fmt: skip

            await eventually(answered, 30, "the agent answered")
            await asyncio.sleep(1.0)  # the queue's bridge settles before the first Redirect
            yield rig
            assert (await calling).ok  # the caller's call went on to a clean end
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await kill_left_asterisk(tmp / "state")


async def test_a_caller_on_hold_when_the_backend_is_killed_is_resumed_after(
    tmp_path: Path,
) -> None:
    async with _talking(tmp_path) as rig:
        held = await rig.desk("hold")
        assert held["ok"], held
        await rig.kill_first()
        async with running_hotline(rig.settings) as hotline:
            call = next(iter(hotline.service.tracker.calls.values()))
            assert call.state is CallState.TALKING
            assert call.agent_channel.startswith("PJSIP/1001-")
            assert await rig.room(main_room(call.linkedid)) == {call.channel}
            assert await rig.room(consult_room(call.linkedid)) == {call.agent_channel}
            resumed = await rig.desk("resume")  # from the agent's desk, as after any hold
            assert resumed["ok"], resumed
            both = {call.channel, call.agent_channel}
            assert await rig.room(main_room(call.linkedid)) == both  # Asterisk's word
            assert await rig.room(consult_room(call.linkedid)) == set()
            st = hotline.control.state(call.linkedid)
            assert st is not None and not st.held and st.agent_room is Room.MAIN
            # On the call's record: the hold once (by the dead backend), then the resume.
            assert await _events_when(hotline, call.linkedid, CallEventKind.RESUMED) == [
                CallEventKind.HELD, CallEventKind.RESUMED
            ]
            await rig.ami.action("Hangup", Channel=call.channel)


async def test_a_three_party_call_survives_a_backend_kill_and_the_agent_can_leave_it(
    tmp_path: Path,
) -> None:
    async with _talking(tmp_path, trunk_port=free_udp_port()) as rig:
        dialled = await rig.desk("consult", target="110", mode="three_way")
        assert dialled["ok"], dialled

        listed = await rig.ami.action_list("CoreShowChannels")
        linkedid = next(c["Linkedid"] for c in listed
                        if c.get("Channel", "").startswith("PJSIP/carrier-"))  # fmt: skip

        async def three_in_room() -> bool:  # 110 answered and joined the caller and agent
            return len(await rig.room(main_room(linkedid))) == 3

        await eventually(three_in_room, 20, "a three-party call in Asterisk")
        await rig.kill_first()
        async with running_hotline(rig.settings) as hotline:
            call = next(iter(hotline.service.tracker.calls.values()))
            assert call.state is CallState.TALKING
            main = main_room(call.linkedid)
            in_main = await rig.room(main)
            party = {c for c in in_main if c.startswith("Local/110@hotline-consult-")}
            assert in_main == {call.channel, call.agent_channel, *party} and len(party) == 1
            left = await rig.desk("leave")  # from the agent's desk: only in a three-party call
            assert left["ok"], left
            st = hotline.control.state(call.linkedid)
            assert st is not None and st.consult is not None and not st.agent_in_call
            assert st.consult.state is ConsultState.COMPLETED and st.consult.line == "110", st
            assert await rig.room(main) == {call.channel, *party}  # caller and 110 stay
            assert call.agent_channel not in await rig.channels()  # the agent's leg is gone
            assert any(c.startswith("PJSIP/trunk-110-primary-") for c in await rig.channels())
            # On the record, each step once: those the dead backend saw, then the leaving.
            k = CallEventKind
            found = await _events_when(hotline, call.linkedid, k.PARTY_LEFT)
            assert sorted(found) == sorted([k.CONSULT_STARTED, k.TRUNK_ATTEMPT,
                                            k.CONSULT_ANSWERED, k.THREE_WAY, k.TRANSFERRED,
                                            k.PARTY_LEFT]), found  # fmt: skip
            await rig.ami.action("Hangup", Channel=call.channel)


async def test_a_consult_still_ringing_when_the_backend_is_killed_is_found_again(
    tmp_path: Path,
) -> None:
    """110 rings (`ring_s`) through the kill and the restart; the new backend ties the ringing
    Local to the call by its Uniqueid, follows 110's answer and completes the transfer."""
    ring_s = 12  # the restart (a backend's start-up and re-sync) takes a few seconds
    async with _talking(tmp_path, free_udp_port(), ring_s * 1000, dial_timeout_s=30) as rig:
        dialled = await rig.desk("consult", target="110", mode="hold")  # back once it rings
        assert dialled["ok"], dialled
        dialled_at = time.monotonic()
        await rig.kill_first()
        async with running_hotline(rig.settings) as hotline:
            call = next(iter(hotline.service.tracker.calls.values()))
            listed = await rig.ami.action_list("CoreShowChannels")
            ringing = [c["Channel"] for c in listed if c.get("ChannelStateDesc") == "Ringing"
                       and c.get("Channel", "").startswith("PJSIP/trunk-110-primary-")]
            assert ringing and time.monotonic() - dialled_at < ring_s - 1, "110 answered already"
            st = hotline.control.state(call.linkedid)
            assert st is not None and st.consult is not None and st.held, st
            assert (st.consult.state, st.consult.line) == (ConsultState.RINGING, "110"), st
            assert [(a.leg, a.status) for a in st.consult.attempts] == [("primary", "")]
            assert await rig.room(consult_room(call.linkedid)) == {call.agent_channel}

            async def answered() -> bool:
                now = hotline.control.state(call.linkedid)
                return now is not None and now.consult is not None \
                    and now.consult.state is ConsultState.ANSWERED  # fmt: skip

            await eventually(answered, ring_s + 10, "110's answer followed")
            consulting = await rig.room(consult_room(call.linkedid))
            party = {c for c in consulting if c.startswith("Local/110@hotline-consult-")}
            assert consulting == {call.agent_channel, *party} and len(party) == 1
            completed = await rig.desk("consult_complete")
            assert completed["ok"], completed
            assert await rig.room(main_room(call.linkedid)) == {call.channel, *party}
            assert call.agent_channel not in await rig.channels()  # the agent's leg is gone
            k = CallEventKind
            found = await _events_when(hotline, call.linkedid, k.PARTY_LEFT)
            assert [found.count(e) for e in (k.CONSULT_STARTED, k.CONSULT_ANSWERED,
                                             k.TRANSFERRED)] == [1, 1, 1], found  # fmt: skip
            await rig.ami.action("Hangup", Channel=call.channel)
