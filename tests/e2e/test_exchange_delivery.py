"""The hand-over to 110 delivered exactly once by a real backend (`hotline up` in a process of
its own) although the receiving centre fails twice and the backend is SIGKILLed between the
attempts; then 110's acceptance and result attached to the order (closing it), a matter from 110
creating an order whose outcome goes back to 110, and bad input on the real endpoint refused.

The receiving centre is a stand-in (a real HTTP server checking our signatures and keeping each
message once by its Idempotency-Key); what the test reads is what that centre received and the
CRM database the backend writes (SQLite in its state directory), not the backend's own events.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from crm.db.engine import create_engine, session_factory
from crm.db.exchange_models import Handover
from crm.db.models import WorkOrder
from crm.domain.clock import utc_now
from crm.domain.enums import Channel, HandoverStatus, Role, Status
from crm.usecases.users import add_user
from hotline_cli.demo.ports import free_udp_port
from tests.e2e.harness import backend_config, backend_process, post_order, stop_backends
from tests.support.receiving_centre import ReceivingCentre

RETRY_FIRST_S = 2.0
RETRY_MAX_S = 2.0  # = the first: the longest back-off the test waits out, kept short


def _config(tmp: Path, centre: ReceivingCentre, secret: str) -> tuple[Path, int]:
    """The backend's settings: one agent, the 110 trunk, the exchange with the stand-in."""
    config = backend_config(tmp, [("1001", "王芳", free_udp_port())])
    text = (
        config.read_text(encoding="utf-8")
        + f"""
[trunks.police]
number = "110"
primary = "127.0.0.1:{free_udp_port()}"
[exchange]
retry_first_s = {RETRY_FIRST_S}
retry_max_s = {RETRY_MAX_S}
[exchange.peers.110]
url = "{centre.url}"
secret = "{secret}"
"""
    )
    config.write_text(text, encoding="utf-8")
    return config, int(text.split("[http]\nport = ")[1].split()[0])


async def _db_when(db: Path, read: Callable[[Any], Any], timeout: float = 60) -> Any:
    """What `read(session)` returns once it is not None, from the backend's database."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with session_factory(engine)() as session:
                    if (found := await read(session)) is not None:
                        return found
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def _token(db: Path) -> str:
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with session_factory(engine)() as session, session.begin():
            _, token = await add_user(session, None, utc_now(), "接警受理员", Role.AGENT, None)
            return token
    finally:
        await engine.dispose()


def _handover_of(number: str, status: HandoverStatus) -> Callable[[Any], Any]:
    async def read(session: Any) -> Handover | None:
        row: Handover | None = await session.scalar(
            select(Handover).join(WorkOrder, WorkOrder.id == Handover.order_id)
            .where(WorkOrder.number == number, Handover.status == status)
        )  # fmt: skip
        return row

    return read


def _order(where: Any) -> Callable[[Any], Any]:
    async def read(session: Any) -> WorkOrder | None:
        found: WorkOrder | None = await session.scalar(select(WorkOrder).where(where))
        return found

    return read


async def test_handover_exactly_once_across_failures_and_a_killed_backend(tmp_path: Path) -> None:
    secret = secrets.token_hex(20)
    state, db = tmp_path / "state", tmp_path / "state" / "hotline.db"
    first = second = None
    async with ReceivingCentre(secret.encode(), fail_first=2) as centre:
        config, http_port = _config(tmp_path, centre, secret)
        base = f"http://127.0.0.1:{http_port}"
        endpoint = f"{base}/api/exchange/v1/messages"
        try:
            first = await backend_process(config)
            token = await _token(db)
            order = await post_order(base, token, {
                "order_type": "police", "text": "商场内有人抢劫", "location": "罗湖区东门步行街",
                "severity": "serious", "caller_number": "13700001234",
            })  # fmt: skip
            status, _ = await _transition(base, token, order["id"], action="transfer",
                                          target="110")  # fmt: skip
            assert status == 200
            await centre.wait_for(lambda c: len(c.attempts) >= 1, timeout=30)
            first.kill()  # between the first (failed) attempt and the next
            await first.wait()
            attempts_while_down = len(centre.attempts)
            second = await backend_process(config)
            row = await _db_when(db, _handover_of(order["number"], HandoverStatus.DELIVERED))
            await asyncio.sleep(2 * RETRY_MAX_S)  # twice the longest back-off: nothing sent again
            assert attempts_while_down == 1
            assert [a.status for a in centre.attempts] == [503, 503, 200]
            assert {a.key for a in centre.attempts} == {row.message_id}
            assert len(centre.kept) == 1 and row.attempts == 3
            [kept] = centre.kept.values()
            assert (kept["order_number"], kept["line"], kept["severity"]) == (
                order["number"], "110", "serious")  # fmt: skip
            assert kept["caller"]["number"] == "13700001234"  # not confidential: as given

            accepted = centre.message("accepted", order_number=order["number"],
                                      incident_number="JJ-2026-0001")  # fmt: skip
            assert (await centre.post(endpoint, accepted))[0] == 200
            status, body = await centre.post(endpoint, accepted)  # re-sent: the first answer
            assert (status, body["duplicate"]) == (200, True), body
            altered = {**accepted, "incident_number": "JJ-2026-9999"}  # same id, another body
            status, body = await centre.post(endpoint, altered)
            assert (status, body["error"]["code"]) == (409, "replayed_message")
            forged = centre.message("result", order_number=order["number"], result="伪造")
            status, body = await centre.post(endpoint, forged, secret=b"x" * 32)
            assert (status, body["error"]["code"]) == (401, "bad_signature")
            big = centre.message("result", order_number=order["number"], result="长" * 30000)
            status, body = await centre.post(endpoint, big)
            assert (status, body["error"]["code"]) == (413, "body_too_large")
            result = centre.message("result", order_number=order["number"], result="已抓获嫌疑人")
            assert (await centre.post(endpoint, result))[0] == 200
            closed = await _db_when(db, _order(WorkOrder.number == order["number"]))
            assert (closed.status, closed.result) == (Status.CLOSED, "已抓获嫌疑人")
            assert closed.handover_confirmed_by == "peer" and closed.handed_over_at is not None
            done = await _db_when(db, _handover_of(order["number"], HandoverStatus.CLOSED))
            assert done.incident_number == "JJ-2026-0001"

            matter = centre.message(
                "matter",
                remote_number="JJ-2026-0002",
                order_type="help",
                summary="噪音扰民，非警情，转12345",
                location="福田区",
            )
            status, body = await centre.post(endpoint, matter)
            assert status == 201, body
            made = await _db_when(db, _order(WorkOrder.number == body["order_number"]))
            assert made.channel is Channel.POLICE_HANDOVER
            assert made.text == "噪音扰民，非警情，转12345"
            await _transition(base, token, made.id, action="answer_now", answer="已告知处理渠道")
            await centre.wait_for(lambda c: len(c.kept) == 2, timeout=30)
            reply = [m for m in centre.kept.values() if m["kind"] == "reply"]
            assert [(m["remote_number"], m["status"]) for m in reply] == [
                ("JJ-2026-0002", "answered")]  # fmt: skip
        finally:
            await stop_backends(state, second, first)


async def _transition(base: str, token: str, order_id: int, **body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base}/api/orders/{order_id}/transitions", json=body,
                    headers={"Authorization": f"Bearer {token}"}) as response,
    ):  # fmt: skip
        return response.status, await response.json()
