"""The 12345 ↔ 110 exchange over real HTTP on SQLite and PostgreSQL: hand-overs stored by the
transfer and delivered by the sender to a stand-in receiving centre (a real server that checks
signatures), its replies and matters on our signed endpoint, and every bad input refused with
nothing changed."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api import create_app
from crm.api.exchange import PATH, ExchangeDoor
from crm.db.engine import SessionFactory, session_factory
from crm.db.exchange_models import ExchangeReceipt, Handover, OrderAlert
from crm.db.models import AuditEntry, User, WorkOrder
from crm.domain.clock import utc_now
from crm.domain.enums import AlertKind, HandoverStatus, Role
from crm.jobs.handover_sender import ALERT_AFTER, HandoverSender, Peer
from crm.repo.directory import hash_token
from crm.segmenter import Segmenter
from tests.integration.crm.crm_support import Api, FakeClock, seed
from tests.support.receiving_centre import ReceivingCentre

SECRET = b"shared-secret-of-110-platform-0123"
World = tuple[Api, ReceivingCentre, SessionFactory, str]
EMERGENCY: dict[str, Any] = {
    "order_type": "police", "text": "小区门口有人持刀斗殴", "caller_name": "张三丰",
    "caller_number": "13812345678", "confidential": True, "location": "南山区科技园北门",
    "severity": "major", "calls": [{"linkedid": "1700000000.42"}],
}  # fmt: skip


@pytest.fixture
async def world(
    engine: AsyncEngine, clock: FakeClock, segmenter: Segmenter
) -> AsyncIterator[World]:
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    door = ExchangeDoor(secrets={"110": SECRET}, max_body_bytes=4096, max_clock_skew_s=300)
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     exchange_door=door)  # fmt: skip
    async with ReceivingCentre(SECRET) as centre, TestClient(TestServer(app)) as client:
        yield Api(client, seeded, clock), centre, sessions, str(client.make_url(PATH))


def sender(sessions: SessionFactory, centre: ReceivingCentre) -> HandoverSender:
    return HandoverSender(sessions, {"110": Peer(centre.url, SECRET)},
                          retry_first_s=0.05, retry_max_s=0.1, self_id="12345")  # fmt: skip


async def deliver(job: HandoverSender, centre: ReceivingCentre, kept: int) -> None:
    """Run the sender (as its loop would) until the centre has kept `kept` messages and none
    of ours is pending any more (polled with a deadline)."""
    async with job, asyncio.timeout(20):
        job.wake()
        await centre.wait_for(lambda c: len(c.kept) >= kept, timeout=20)
        while any(r.status is HandoverStatus.PENDING for r in await handovers(job.sessions)):  # noqa: ASYNC110 (polling another transaction's rows)
            await asyncio.sleep(0.02)


async def handovers(sessions: SessionFactory) -> list[Handover]:
    async with sessions() as session:
        return list((await session.scalars(select(Handover).order_by(Handover.id))).all())


async def transferred(api: Api) -> dict[str, Any]:
    order = await api.new_order(**EMERGENCY)
    await api.ok(order["id"], "transfer", "agent", target="110")
    return order


async def test_the_transfer_stores_its_handover_delivered_once_past_failures(world: World) -> None:
    api, centre, sessions, _ = world
    centre.fail_first = 2
    order = await transferred(api)
    [row] = await handovers(sessions)
    assert (row.status.value, row.line, row.direction.value) == ("pending", "110", "outbound")
    # a first sender fails once and "dies"; a new one (a restarted backend) resumes
    first = sender(sessions, centre)
    async with first:
        await centre.wait_for(lambda c: len(c.attempts) >= 1, timeout=20)
    await deliver(sender(sessions, centre), centre, kept=1)
    assert [a.status for a in centre.attempts] == [503, 503, 200]
    assert {a.key for a in centre.attempts} == {row.message_id}
    [kept] = centre.kept.values()
    assert kept["kind"] == "handover" and kept["order_number"] == order["number"]
    assert kept["caller"] == {"name": "张**", "number": "138****5678", "confidential": True}
    assert (kept["location"], kept["order_type"], kept["severity"]) == (
        "南山区科技园北门", "police", "major")  # fmt: skip
    assert kept["summary"] == "小区门口有人持刀斗殴"
    assert kept["calls"] == [{"linkedid": "1700000000.42", "recording": ""}]
    [row] = await handovers(sessions)
    assert (row.status.value, row.attempts) == ("delivered", 3)


async def test_no_peer_for_the_line(world: World) -> None:
    api, centre, sessions, _ = world
    order = await api.new_order(**{**EMERGENCY, "order_type": "fire"})
    await api.ok(order["id"], "transfer", "agent", target="119")
    async with sender(sessions, centre), asyncio.timeout(20):
        while (await handovers(sessions))[0].status is HandoverStatus.PENDING:  # noqa: ASYNC110 (another transaction's row)
            await asyncio.sleep(0.02)
    [row] = await handovers(sessions)
    assert (row.status.value, row.line, row.attempts) == ("no_peer", "119", 0)
    assert centre.attempts == []


async def test_replies_attach_to_the_order_and_the_result_closes_it(world: World) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    await deliver(sender(sessions, centre), centre, kept=1)
    accepted = centre.message("accepted", order_number=order["number"],
                              incident_number="JJ20251001-0042", note="已派警")  # fmt: skip
    assert (await centre.post(endpoint, accepted))[0] == 200
    [row] = await handovers(sessions)
    assert (row.status.value, row.incident_number) == ("accepted", "JJ20251001-0042")
    status, listed = await api.get(f"/api/orders/{order['id']}/handovers", "supervisor")
    assert status == 200
    assert [(h["kind"], h["line"], h["status"], h["incident_number"], h["attempts"])
            for h in listed["items"]] == [("handover", "110", "accepted", "JJ20251001-0042", 1)]
    assert (await api.get(f"/api/orders/{order['id']}/handovers", "urban"))[0] == 403
    result = centre.message("result", order_number=order["number"], result="民警到场，已处置")
    status, body = await centre.post(endpoint, result)
    assert (status, body["order_number"]) == (200, order["number"])
    _, got = await api.get(f"/api/orders/{order['id']}", "supervisor")
    assert (got["status"], got["result"]) == ("closed", "民警到场，已处置")
    trail = [(e["action"], e["actor_id"]) for e in await api.audit(order["id"])]
    async with sessions() as session:
        peer_id = await session.scalar(select(User.id).where(User.role == Role.PEER))
    assert trail[-2:] == [("handover_accepted", peer_id), ("transfer_feedback", peer_id)]
    async with sessions() as session:
        receipts = (await session.scalars(select(ExchangeReceipt).order_by(ExchangeReceipt.id)))
        got_receipts = [(r.peer, r.message_id, r.kind, r.handover_id) for r in receipts]
    [row] = await handovers(sessions)
    assert got_receipts == [("110", accepted["message_id"], "accepted", row.id),
                            ("110", result["message_id"], "result", row.id)]  # fmt: skip


async def test_a_matter_from_110_creates_an_order_and_our_reply_goes_back(world: World) -> None:
    api, centre, sessions, endpoint = world
    matter = centre.message("matter", remote_number="JJ20251001-0077", order_type="help",
                            summary="群众反映路灯不亮，非警务事项", location="福田区红荔路",
                            caller={"name": "李四", "number": "13900001111"})  # fmt: skip
    status, body = await centre.post(endpoint, matter)
    assert status == 201, body
    async with sessions() as session:
        number = body["order_number"]
        order = await session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    assert order is not None
    assert (order.channel.value, order.text, order.location) == (
        "police_handover", "群众反映路灯不亮，非警务事项", "福田区红荔路")  # fmt: skip
    await api.ok(order.id, "answer_now", "agent", answer="已转路灯管理处修复")
    await deliver(sender(sessions, centre), centre, kept=1)
    [reply] = centre.kept.values()
    assert (reply["kind"], reply["remote_number"], reply["order_number"], reply["status"]) == (
        "reply", "JJ20251001-0077", order.number, "answered")  # fmt: skip
    assert reply["result"] == "已转路灯管理处修复"


async def _counts(sessions: SessionFactory) -> tuple[int, ...]:
    async with sessions() as session:
        return tuple([
            await session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Handover, ExchangeReceipt, WorkOrder, AuditEntry, User)
        ])  # fmt: skip


BAD = ["bad_signature", "unknown_peer", "wrong_schema", "wrong_version", "replay",
       "stale", "unknown_order", "oversized", "oversized_chunked", "key_mismatch"]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
async def test_bad_input_is_refused_with_nothing_changed(
    world: World, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    good = centre.message("accepted", order_number=order["number"], incident_number="JJ-1")
    expected: tuple[int, str]
    if case == "replay":
        assert (await centre.post(endpoint, good))[0] == 200
    before = await _counts(sessions)
    [row_before] = await handovers(sessions)
    match case:
        case "bad_signature":
            answer = await centre.post(endpoint, good, secret=b"not-the-shared-secret-at-all")
            expected = (401, "bad_signature")
        case "unknown_peer":
            centre.line = "999"
            answer = await centre.post(endpoint, good)
            expected = (401, "unknown_peer")
        case "wrong_schema":
            answer = await centre.post(endpoint, {**good, "incident_number": 42})
            expected = (422, "invalid_message")
        case "wrong_version":
            answer = await centre.post(endpoint, {**good, "format_version": "2.0"})
            expected = (422, "invalid_message")
        case "replay":  # the same id again, with another body
            answer = await centre.post(endpoint, {**good, "incident_number": "JJ-2"})
            expected = (409, "replayed_message")
        case "stale":
            answer = await centre.post(endpoint, good, timestamp=1_000_000_000)
            expected = (409, "stale_timestamp")
        case "unknown_order":
            answer = await centre.post(endpoint, {**good, "order_number": "SZ12345-19990101-0001"})
            expected = (404, "unknown_order")
        case "oversized":
            answer = await centre.post(endpoint, {**good, "note": "长" * 3000})
            expected = (413, "body_too_large")
        case "oversized_chunked":
            answer = await centre.post(endpoint, {**good, "note": "长" * 3000}, chunked=True)
            expected = (413, "body_too_large")
        case "key_mismatch":
            answer = await centre.post(endpoint, good, key="00000000-0000-4000-8000-000000000000")
            expected = (422, "invalid_message")
    status, body = answer
    assert (status, body["error"]["code"]) == expected, body
    [logged] = [r for r in caplog.records if r.name == "crm.api.exchange"]
    assert f"({expected[0]} {expected[1]})" in logged.getMessage()
    assert await _counts(sessions) == before
    [row] = await handovers(sessions)
    assert (row.status, row.incident_number) == (row_before.status, row_before.incident_number)


async def test_a_peer_has_no_token_door_and_cannot_be_created(world: World) -> None:
    api, centre, sessions, endpoint = world
    matter = centre.message("matter", remote_number="JJ-9", order_type="help", summary="非警务")
    assert (await centre.post(endpoint, matter))[0] == 201
    async with sessions() as session, session.begin():
        peer = await session.scalar(select(User).where(User.role == Role.PEER))
        assert peer is not None
        peer.token_hash, peer.active = hash_token("a-token-an-admin-gave-it"), True
    status, body = await api.call(
        "GET", "/api/orders", None, headers={"Authorization": "Bearer a-token-an-admin-gave-it"}
    )
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, body = await api.post("/api/users", {"name": "假110", "role": "peer"}, "admin")
    assert (status, body["error"]["code"]) == (400, "role_not_creatable"), body
    assert json.dumps(body, ensure_ascii=False)


async def test_a_rejected_handover_is_ours_again_and_is_sent_anew(world: World) -> None:
    api, centre, sessions, endpoint = world
    order = await transferred(api)
    await deliver(sender(sessions, centre), centre, kept=1)
    rejected = centre.message("rejected", order_number=order["number"], reason="属119辖区")
    assert (await centre.post(endpoint, rejected))[0] == 200
    _, got = await api.get(f"/api/orders/{order['id']}", "supervisor")
    assert got["status"] == "registered"
    await api.ok(order["id"], "transfer", "agent", target="110")
    await deliver(sender(sessions, centre), centre, kept=2)
    first, second = await handovers(sessions)
    assert (first.status.value, first.last_error) == ("rejected", "属119辖区")
    assert second.status.value == "delivered" and second.message_id != first.message_id
    late = centre.message("rejected", order_number=order["number"], reason="重复")
    accepted = centre.message("accepted", order_number=order["number"], incident_number="JJ-7")
    assert (await centre.post(endpoint, accepted))[0] == 200  # the newest hand-over
    status, body = await centre.post(endpoint, late)
    assert (status, body["error"]["code"]) == (409, "handover_not_open")
    first, second = await handovers(sessions)
    assert (first.status.value, second.status.value) == ("rejected", "accepted")


async def test_an_undelivered_handover_alerts_once_and_is_still_sent(world: World) -> None:
    api, centre, sessions, _ = world
    centre.fail_first = 1000
    order = await transferred(api)
    async with sender(sessions, centre):
        await centre.wait_for(lambda c: len(c.attempts) >= ALERT_AFTER + 2, timeout=30)
    async with sessions() as session:
        alerts = (await session.scalars(
            select(OrderAlert).where(OrderAlert.kind == AlertKind.HANDOVER_UNDELIVERED)
        )).all()  # fmt: skip
    assert [(a.order_id, a.kind.value) for a in alerts] == [(order["id"], "handover_undelivered")]
    assert alerts[0].detail["attempts"] == ALERT_AFTER and alerts[0].published_at is None
    [row] = await handovers(sessions)
    assert row.status.value == "pending" and row.last_error == "HTTP 503"
    trail = [e for e in await api.audit(order["id"]) if e["action"] == "alert"]
    assert [e["detail"]["kind"] for e in trail][-1] == "handover_undelivered"


async def test_a_body_just_under_the_limit_arriving_in_pieces_is_read_whole(world: World) -> None:
    _, centre, _, endpoint = world
    matter = centre.message("matter", remote_number="JJ-10", order_type="help", summary="a" * 3700)
    assert 3600 < len(json.dumps(matter).encode()) <= 4096  # the door's limit in this world
    status, body = await centre.post(endpoint, matter, chunked=True)
    assert status == 201, body


async def test_a_sender_killed_after_the_peer_kept_it_resends_the_same_message(
    world: World,
) -> None:
    """The peer answered 200 but the backend died before storing it: the next sender sends
    the same message (same Idempotency-Key) again, and the peer keeps it once."""
    api, centre, sessions, _ = world
    await transferred(api)
    dying = sender(sessions, centre)
    [due] = await dying._claim_due(utc_now(), "110")  # the attempt counted and committed …
    assert await dying._post(due) is None  # … the peer kept it, and the backend died here
    [row] = await handovers(sessions)
    assert (row.status.value, row.attempts) == ("pending", 1)
    async with sessions() as session, session.begin():  # the back-off has passed
        await session.execute(update(Handover).values(next_attempt_at=utc_now()))
    await deliver(sender(sessions, centre), centre, kept=1)
    assert [a.status for a in centre.attempts] == [200, 200]
    assert {a.key for a in centre.attempts} == {row.message_id} and len(centre.kept) == 1
    [row] = await handovers(sessions)
    assert (row.status.value, row.attempts) == ("delivered", 2)


async def test_the_door_is_in_the_openapi_document(world: World) -> None:
    api, *_ = world
    status, doc = await api.get("/api/openapi.json", None)
    operation = doc["paths"][PATH]["post"]
    assert status == 200 and operation.get("security") == []
    assert {"201", "401", "404", "409", "413", "422"} <= set(operation["responses"])
