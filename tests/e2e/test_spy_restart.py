"""A backend killed with SIGKILL while a supervisor whispers (started from the supervisor's
desk, a real websocket): the restarted backend adopts the session from the audit's open row
and Asterisk's own list (the spy channel still in `hotline-spy`), so it can switch to barge
and leave, and the row gets its end. Checked in `CoreShowChannels` and `spy_sessions`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from websockets.asyncio.client import connect

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from crm.db.call_models import SpySession as SpySessionRow
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.actions import hang_up
from telephony.ami import AmiClient
from telephony.spy import SpyCode, SpyPhase
from tests.e2e.harness import backend_config, backend_process, kill_left_asterisk
from tests.support.audio import AGENT_A_HZ, AGENT_C_HZ, CALLER_HZ, tone_pcap
from tests.support.polling import eventually


async def supervisor_token(config: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline_cli.main", "--config", str(config), "user", "add",
        "张班长", "--role", "supervisor", "--phone", "8001", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    return out.decode().rsplit(": ", 1)[1].strip()


async def spy_start(settings: Settings, token: str, linkedid: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{settings.http.port}/api/desk/ticket", json={"extension": "8001"},
        headers={"Authorization": f"Bearer {token}"},
    ) as r:  # fmt: skip
        assert r.status == 200, await r.text()
        ticket = (await r.json())["ticket"]
    url = f"ws://127.0.0.1:{settings.gateway.port}/?ticket={ticket}"
    async with connect(url) as ws, asyncio.timeout(30):
        args = {"linkedid": linkedid, "mode": "whisper"}
        await ws.send(json.dumps({"type": "command", "id": "s1", "name": "spy_start",
                                  "args": args}))  # fmt: skip
        while True:
            frame: dict[str, Any] = json.loads(await ws.recv())
            if frame["type"] == "command_result" and frame["id"] == "s1":
                return frame


async def test_a_whisper_live_at_a_backend_kill_is_adopted_switched_and_left(
    tmp_path: Path,
) -> None:
    phone_port, sup_port = free_udp_port(), free_udp_port()
    config = backend_config(tmp_path, [("1001", "王芳", phone_port)])
    with config.open("a", encoding="utf-8") as f:
        f.write(f"""
[[colleagues]]
extension = "8001"
name = "张班长"
kind = "supervisor"
contact = "sip:8001@127.0.0.1:{sup_port}"
""")
    settings = resolve_secrets(load_settings(config))
    token = await supervisor_token(config)
    tones = {name: tone_pcap(tmp_path / f"{name}.pcap", hz, 90) for name, hz in
             (("caller", CALLER_HZ), ("agent", AGENT_A_HZ), ("sup", AGENT_C_HZ))}  # fmt: skip
    first = await backend_process(config)
    ami = AmiClient(host=settings.ami.host, port=settings.ami.port,
                    username=settings.ami.username,
                    secret=settings.ami.secret.get_secret_value())  # fmt: skip
    sipp = tmp_path / "sipp"

    async def listed() -> list[dict[str, str]]:
        items = await ami.action_list("CoreShowChannels")
        return [c for c in items if c.get("Event") == "CoreShowChannel"]

    async def spy_channel() -> dict[str, str] | None:
        return next((c for c in await listed() if c["Channel"].startswith("PJSIP/8001-")), None)

    try:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(ami)
            await stack.enter_async_context(
                AgentPhone(sipp, "127.0.0.1", phone_port, 300, tones["agent"])
            )
            await stack.enter_async_context(
                AgentPhone(sipp, "127.0.0.1", sup_port, 300, tones["sup"])
            )
            await ami.wait_connected(10)
            plan = CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=90_000,
                              audio=tones["caller"])  # fmt: skip
            calling = asyncio.create_task(place_calls(
                sipp, target=f"127.0.0.1:{settings.sip.port}",
                service=settings.centre.inbound_number,
                callers=[CallerIdentity("吴九", "13900009998")], plan=plan,
                source_ip=settings.carrier.match, timeout_s=150,
            ))  # fmt: skip

            async def answered() -> bool:
                return any(
                    c["Channel"].startswith("PJSIP/1001-") and c.get("ChannelStateDesc") == "Up"
                    for c in await listed()
                )

            await eventually(answered, 30, "the agent answered")
            agent = next(c for c in await listed() if c["Channel"].startswith("PJSIP/1001-"))
            started = await spy_start(settings, token, agent["Linkedid"])
            assert started["ok"], started

            async def whispering() -> bool:
                c = await spy_channel()
                return c is not None and c.get("ApplicationData", "").endswith(",qEw")

            await eventually(whispering, 20, "the supervisor whispering")
            before = await spy_channel()
            assert before is not None
            first.kill()  # the backend dies mid-whisper; Asterisk and Redis run on
            await first.wait()

            async with running_hotline(settings) as hotline:
                spy = hotline.spy

                async def adopted() -> bool:
                    return spy.session_of("8001") is not None

                await eventually(adopted, 20, "the session adopted")
                session = spy.session_of("8001")
                assert session is not None and session.phase is SpyPhase.JOINED
                assert session.uniqueid == before["Uniqueid"] and session.mode == "whisper"
                barged = await spy.switch("8001", "barge")
                now = await spy_channel()
                assert now is not None and now["ApplicationData"] == (
                    f"{agent['Channel']},qEB")  # fmt: skip
                assert now["Uniqueid"] == before["Uniqueid"]  # the same channel, not rung
                left = await spy.leave("8001")
                assert left.end_code == SpyCode.LEFT and barged.mode == "barge"

                async def gone() -> bool:
                    return await spy_channel() is None

                await eventually(gone, 10, "the supervisor's channel gone")
                deadline = time.monotonic() + 15
                while True:
                    async with hotline.sessions() as db:
                        row = await db.scalar(select(SpySessionRow).where(
                            SpySessionRow.uniqueid == before["Uniqueid"]))  # fmt: skip
                    if row is not None and row.ended_at is not None:
                        break
                    assert time.monotonic() < deadline, row
                    await asyncio.sleep(0.2)
                assert row.end_code == "left" and row.duration_s is not None
                assert row.duration_s > 0.5
                assert [m["mode"] for m in row.modes] == ["whisper", "barge"]
                await hang_up(ami, agent["Channel"])
            assert (await calling).ok
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await kill_left_asterisk(tmp_path / "state")
