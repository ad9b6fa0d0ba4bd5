"""A callback's placeholder survives a backend crash: the backend is killed (SIGKILL) while
the placeholder waits in the caller's place; the new backend finds it in Asterisk (not placed
twice), and when 1001 is free it is served, the citizen reached, the request closed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import select

from crm.db.callback_models import QueueCallbackRow
from crm.db.engine import create_engine, session_factory
from crm.domain.queue_callback import CallbackState
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, Press, place_calls
from telephony.ami import AmiClient
from tests.e2e.harness import backend_config, backend_process, stop_backends
from tests.support.polling import eventually

OFFER_AFTER_S = 5
CITIZEN = free_udp_port()
EXTRA = f"""
[outbound]
primary = "127.0.0.1:{CITIZEN}"
backup = "127.0.0.1:{free_udp_port()}"
dial_timeout_s = 5
qualify_s = 0
[callback]
offer_after_s = {OFFER_AFTER_S}
retry_after_s = 30
attempts = 2
"""


def _setting(text: str, table: str, key: str) -> str:
    found = re.search(rf"^\[{table}\]\n(?:.*\n)*?{key} = \"?([^\"\n]+)\"?$", text, re.MULTILINE)
    assert found is not None, (table, key)
    return found.group(1)


@asynccontextmanager
async def _ami(text: str) -> AsyncIterator[AmiClient]:
    port, secret = int(_setting(text, "ami", "port")), _setting(text, "ami", "secret")
    ami = AmiClient(host="127.0.0.1", port=port, username="hotline", secret=secret)
    async with ami:
        await ami.wait_connected(10)
        yield ami


async def _entries(ami: AmiClient) -> list[tuple[int, str, str]]:
    items = await ami.action_list("QueueStatus", Queue="hotline")
    found = [(int(i["Position"]), i["Channel"], i.get("CallerIDNum", ""))
             for i in items if i.get("Event") == "QueueEntry"]  # fmt: skip
    return sorted(found)


async def _channel_of(ami: AmiClient, number: str, talking: bool) -> str:
    """The carrier channel of the caller `number` once it talks (else once it waits)."""
    found: list[str] = []

    async def there() -> bool:
        channels = await ami.action_list("CoreShowChannels")
        found[:] = [c["Channel"] for c in channels if c.get("CallerIDNum") == number
                    and c["Channel"].startswith("PJSIP/carrier-")
                    and (bool(c.get("BridgeId")) is talking)]  # fmt: skip
        return bool(found)

    await eventually(there, 30, f"{number} {'talking' if talking else 'waiting'}", 0.2)
    return found[0]


def _caller(text: str, workdir: Path, number: str, plan: CallerPlan) -> asyncio.Task[object]:
    return asyncio.create_task(place_calls(
        workdir, target=f"127.0.0.1:{_setting(text, 'sip', 'port')}", service="12345",
        callers=[CallerIdentity("市民", number)], plan=plan, timeout_s=180,
    ))  # fmt: skip


async def test_a_placeholder_survives_a_backend_crash_and_is_served(tmp_path: Path) -> None:
    phone_port = free_udp_port()
    # a short wrap-up: 1001 is free for the placeholder right after X
    config = backend_config(tmp_path, [("1001", "王芳", phone_port)], 0.5, extra=EXTRA)
    text = config.read_text(encoding="utf-8")
    state = tmp_path / "state"
    engine = create_engine(f"sqlite:///{state / 'hotline.db'}")
    sessions = session_factory(engine)
    sipp = tmp_path / "sipp"
    x, a = "13800000031", "13900000032"
    first = await backend_process(config)
    second: asyncio.subprocess.Process | None = None
    try:
        async with (
            AgentPhone(sipp, "127.0.0.1", phone_port, ring_ms=300),
            AgentPhone(sipp, "127.0.0.1", CITIZEN, ring_ms=300),
            _ami(text) as ami,
        ):
            long = 120_000
            x_run = _caller(text, sipp, x, CallerPlan(dtmf="0", dtmf_after_ms=300,
                                                     hangup_after_ms=long))  # fmt: skip
            x_channel = await _channel_of(ami, x, talking=True)  # 1001 busy
            press = (Press("1", OFFER_AFTER_S * 1000 + 5000),)
            a_run = _caller(text, sipp, a, CallerPlan(dtmf="0", dtmf_after_ms=300,
                                                     hangup_after_ms=long, then=press))  # fmt: skip

            async def placeholder() -> bool:
                now = await _entries(ami)
                return len(now) == 1 and now[0][1].startswith("Local/") and now[0][2] == a

            await eventually(placeholder, 40, "the placeholder in A's place", 0.2)
            held = (await _entries(ami))[0][1]
            first.kill()  # the backend dies; Asterisk runs on in its own session
            await first.wait()
            second = await backend_process(config)
            await asyncio.wait_for(a_run, 30)  # A left the line before the crash
            assert await _entries(ami) == [(1, held, a)]  # the same one, not placed again
            await ami.action("Hangup", Channel=x_channel)  # 1001 free: the placeholder's turn

            async def reached() -> bool:
                async with sessions() as session:
                    row = await session.scalar(select(QueueCallbackRow))
                channels = await ami.action_list("CoreShowChannels")
                trunk = [c for c in channels if c["Channel"].startswith("PJSIP/trunk-outbound-")]
                talking = any(
                    c.get("ChannelStateDesc") == "Up" and c.get("BridgeId") for c in trunk
                )
                return row is not None and row.state is CallbackState.PLACED and talking

            await eventually(reached, 30, "the citizen talking once 1001 answered", 0.2)
            agent = next(c["Channel"] for c in await ami.action_list("CoreShowChannels")
                         if c["Channel"].startswith("PJSIP/1001-"))  # fmt: skip
            await ami.action("Hangup", Channel=agent)

            async def closed() -> bool:
                async with sessions() as session:
                    row = await session.scalar(select(QueueCallbackRow))
                return row is not None and row.state is CallbackState.REACHED

            await eventually(closed, 20, "the request reached, as the new backend saw it")
            async with sessions() as session:
                rows = (await session.scalars(select(QueueCallbackRow))).all()
            assert len(rows) == 1 and rows[0].attempts == 1, rows
            await asyncio.wait_for(x_run, 30)
    finally:
        await engine.dispose()
        await stop_backends(state, second, first)  # nothing left, whatever failed
