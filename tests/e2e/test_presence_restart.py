"""Presence after a backend or Asterisk restart comes from Asterisk: an agent Asterisk holds
in the backend's wrap-up pause is shown wrapping up and released at the deadline the dead
backend recorded; a pause the agent chose stays; a wrap-up pause nobody recorded (or whose
end was lost) is lifted at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from agent_gateway.edge.protocol import WRAP_UP_REASON
from agent_gateway.edge.store import read_presence
from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from crm.domain.enums import Role
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami import AmiClient
from telephony.service import AmiSource
from tests.e2e.harness import (
    CallLog,
    Centre,
    backend_config,
    backend_process,
    crm_user,
    kill_left_asterisk,
    running_centre,
)
from tests.support.polling import eventually

WRAP_UP_S = 14.0  # the first backend's max_wrapup_s: outlasts the restart (~4 s) well
LATER_WRAP_UP_S = 600.0  # the restarted backend's: a fresh timer would release nobody in time
POLL_S = 0.1


def _config(tmp: Path, phone_port: int) -> Path:
    agents = [("1001", "王芳", phone_port), ("1002", "李娜", free_udp_port()),
              ("1003", "赵敏", free_udp_port())]  # fmt: skip
    return backend_config(tmp, agents, WRAP_UP_S)


def _ami(settings: Settings) -> AmiClient:
    return AmiClient(
        host=settings.ami.host,
        port=settings.ami.port,
        username=settings.ami.username,
        secret=settings.ami.secret.get_secret_value(),
    )


async def _member(ami: AmiSource, ext: str) -> dict[str, str]:
    """The agent's entry in Asterisk's own QueueStatus list of the hotline queue."""
    listed = await ami.action_list("QueueStatus", Queue="hotline")
    for item in listed:
        if item.get("Event") == "QueueMember" and item.get("Location") == f"PJSIP/{ext}":
            return item
    raise AssertionError(f"PJSIP/{ext} is not a member of the queue: {listed}")


async def _until_member(
    ami: AmiSource, ext: str, paused: bool, reason: str = "", timeout: float = 20
) -> float:
    """When Asterisk first listed the member so (polled with a deadline)."""
    want = ("1" if paused else "0", reason if paused else "")
    seen: dict[str, str] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while True:
                seen = await _member(ami, ext)
                if (seen.get("Paused"), seen.get("PausedReason", "") if paused else "") == want:
                    return time.time()
                await asyncio.sleep(POLL_S)
    raise AssertionError(f"PJSIP/{ext} never became paused={paused} {reason!r}: {seen}")


async def _until_stored_wrapping_up(redis: Redis, ext: str) -> None:
    """The first backend stored the agent's wrap-up where snapshots are read from (what it
    records about the wrap-up goes in the same transaction)."""
    async with asyncio.timeout(10):
        while True:
            if (await read_presence(redis)).get(ext, {}).get("state") == "wrap_up":
                return
            await asyncio.sleep(POLL_S)


async def _until_persisted(astdb: Path, *parts: str) -> None:
    """Until Asterisk's astdb holds, committed, the hotline queue's members with `parts`."""

    def committed() -> str:
        # Without locks: Asterisk's astdb sets no busy timeout, so a COMMIT that meets our
        # reader's shared lock fails and Asterisk rolls its writes back (lost until the next
        # change: this test once waited 10 s for a row that was never to come). Read so, a
        # page may be caught mid-commit: that read is retried.
        uri = f"file:{astdb}?mode=ro&nolock=1"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                row = db.execute(
                    "SELECT value FROM astdb WHERE key = '/Queue/PersistentMembers/hotline'"
                ).fetchone()
        except sqlite3.DatabaseError:
            return ""
        return str(row[0]) if row else ""

    value = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while True:
                value = await asyncio.to_thread(committed)
                if all(part in value for part in parts):
                    return
                await asyncio.sleep(POLL_S)
    raise AssertionError(f"astdb never held {parts}: {value!r}")


async def _snapshot(centre: Centre) -> dict[str, Any]:
    """The snapshot a supervisor's desktop, freshly opened, gets."""
    hotline = centre.hotline
    token = await crm_user(centre, "值班长", Role.SUPERVISOR)
    url = f"http://127.0.0.1:{hotline.settings.http.port}/api/desk/ticket"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={}, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 200, await response.text()
        ticket = (await response.json())["ticket"]
    async with (
        connect(f"ws://127.0.0.1:{hotline.gateway.port}/?ticket={ticket}") as ws,
        asyncio.timeout(10),
    ):
        while True:  # after the hello
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == "snapshot":
                return frame


async def _leave_nothing_behind(state: Path, redis_port: int, password: str) -> None:
    """Asterisk and Redis run in sessions of their own: end them whatever failed."""
    await kill_left_asterisk(state)
    redis = Redis(host="127.0.0.1", port=redis_port, password=password)
    with contextlib.suppress(Exception):
        await redis.shutdown(nosave=True)
    await redis.aclose()


async def test_presence_after_a_backend_restart_comes_from_asterisk(tmp_path: Path) -> None:
    phone_port = free_udp_port()
    config = _config(tmp_path, phone_port)
    # The restarted backend with a much longer max_wrapup_s: the wrap-up under way must end
    # at the deadline the first backend recorded, not a fresh max_wrapup_s after the restart.
    # Secrets resolved here first: the backends then find (and use) the same generated ones.
    settings = resolve_secrets(
        load_settings(config, overrides={"gateway": {"max_wrapup_s": LATER_WRAP_UP_S}})
    )
    password = settings.redis.password.get_secret_value()
    redis = Redis(host="127.0.0.1", port=settings.redis.port, password=password)
    first = await backend_process(config)
    try:
        async with _ami(settings) as ami:
            await ami.wait_connected(10)
            await ami.action("QueuePause", Interface="PJSIP/1002", Paused="true", Reason="休息")
            # A wrap-up pause with no deadline recorded anywhere (its backend's timer is gone).
            await ami.action(
                "QueuePause", Interface="PJSIP/1003", Paused="true", Reason=WRAP_UP_REASON
            )
            async with AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300):
                result = await place_calls(
                    tmp_path / "sipp", target=f"127.0.0.1:{settings.sip.port}",
                    service=settings.centre.inbound_number,
                    callers=[CallerIdentity("吴九", "13900009999")],
                    plan=CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=3000),
                    source_ip=settings.carrier.match, timeout_s=60,
                )  # fmt: skip
            assert result.ok, result.errors
            wrap_up_seen = await _until_member(ami, "1001", True, WRAP_UP_REASON)  # 王芳 took it
            await _until_stored_wrapping_up(redis, "1001")

            first.kill()  # the backend dies in 1001's wrap-up; Asterisk and Redis run on
            await first.wait()
            async with running_hotline(settings) as hotline:
                synced = time.time()
                assert synced < wrap_up_seen + WRAP_UP_S - 2, "the restart outlasted the wrap-up"
                snapshot = await _snapshot(Centre(hotline, CallLog(), tmp_path / "sipp"))
                presence = snapshot["presence"]
                assert presence["1001"]["state"] == "wrap_up", presence  # not available
                assert presence["1001"]["call_id"], presence
                assert (presence["1002"]["state"], presence["1002"]["reason"]) == (
                    "paused", "休息"
                ), presence  # fmt: skip
                assert presence["1003"]["state"] == "available", presence
                # In Asterisk: the unrecorded wrap-up pause is lifted at once, the others kept.
                await _until_member(ami, "1003", paused=False, timeout=5)
                assert (await _member(ami, "1001"))["PausedReason"] == WRAP_UP_REASON
                assert (await _member(ami, "1002"))["Paused"] == "1"

                released = await _until_member(ami, "1001", paused=False, timeout=WRAP_UP_S + 10)
                assert wrap_up_seen + WRAP_UP_S - 1 < released < wrap_up_seen + WRAP_UP_S + 3
                member = await _member(ami, "1002")
                assert (member["Paused"], member["PausedReason"]) == ("1", "休息")
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await redis.aclose()
        await _leave_nothing_behind(tmp_path / "state", settings.redis.port, password)


async def test_presence_after_an_asterisk_restart_comes_from_asterisk(tmp_path: Path) -> None:
    async with running_centre(tmp_path) as centre:
        hotline = centre.hotline
        # 1001: held in a wrap-up pause whose end the backend could not tell Asterisk (its
        # timer fired while Asterisk was down): no wrap-up of ours is running for it.
        await hotline.ami.action(
            "QueuePause", Interface="PJSIP/1001", Paused="true", Reason=WRAP_UP_REASON
        )
        await hotline.ami.action("QueuePause", Interface="PJSIP/1002", Paused="true", Reason="午餐")
        # astdb commits at most once a second: wait until both pauses are on disk.
        await _until_persisted(hotline.layout.lib / "astdb.sqlite3", "PJSIP/1001;0;1;", ";午餐;")

        hotline.asterisk.kill()
        async with asyncio.timeout(10):  # the AMI link notices (and forgets its re-sync)
            while True:
                if not hotline.service.stats.connected:
                    break
                await asyncio.sleep(POLL_S)
        await hotline.asterisk.start()
        await hotline.ami.wait_connected(10)
        await hotline.service.wait_synced(10)

        await _until_member(hotline.ami, "1001", paused=False, timeout=5)
        member = await _member(hotline.ami, "1002")
        assert (member["Paused"], member["PausedReason"]) == ("1", "午餐")
        presence = await read_presence(hotline.redis)
        assert presence["1001"]["state"] == "available", presence
        assert (presence["1002"]["state"], presence["1002"]["reason"]) == ("paused", "午餐")


async def test_a_pause_given_during_a_call_outlasts_a_backend_restart(tmp_path: Path) -> None:
    """Asterisk's QueuePause during 1001's call, then the backend dies: the restarted one has
    the pause pending (Asterisk's member still paused with it), and after the call and its
    wrap-up 1001 is paused with it, not available."""
    phone_port = free_udp_port()
    config = _config(tmp_path, phone_port)
    settings = resolve_secrets(load_settings(config, overrides={"gateway": {"max_wrapup_s": 1}}))
    password = settings.redis.password.get_secret_value()
    first = await backend_process(config)
    try:
        async with (
            _ami(settings) as ami,
            AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300),
        ):
            await ami.wait_connected(10)
            caller = asyncio.create_task(place_calls(
                tmp_path / "sipp", target=f"127.0.0.1:{settings.sip.port}",
                service=settings.centre.inbound_number,
                callers=[CallerIdentity("郑十", "13900008888")],
                plan=CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=12000),
                source_ip=settings.carrier.match, timeout_s=60,
            ))  # fmt: skip

            async def in_call() -> bool:
                return (await _member(ami, "1001")).get("InCall") == "1"

            await eventually(in_call, 20, "王芳 on the call")
            await ami.action("QueuePause", Interface="PJSIP/1001", Paused="true", Reason="会议")

            first.kill()  # the backend dies during the call; Asterisk and Redis run on
            await first.wait()
            async with running_hotline(settings) as hotline:
                snapshot = await _snapshot(Centre(hotline, CallLog(), tmp_path / "sipp"))
                me = snapshot["presence"]["1001"]
                assert (me["state"], me["pending_pause"]) == ("talking", "会议"), me
                result = await caller
                assert result.ok, result.errors

                async def paused() -> bool:  # the call and its wrap-up (1 s) are over
                    return hotline.desk.presences["1001"].state.value == "paused"

                await eventually(paused, 20, "1001 paused after the call")
                assert hotline.desk.presences["1001"].reason == "会议"
                member = await _member(ami, "1001")
                assert (member["Paused"], member["PausedReason"]) == ("1", "会议")
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await _leave_nothing_behind(tmp_path / "state", settings.redis.port, password)
