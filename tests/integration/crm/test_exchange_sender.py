"""The hand-over sender over real HTTP on SQLite and PostgreSQL, with two stand-in receiving
centres: a hanging peer holds up only its own line, and the sender names itself to its peers
as the centre's settings say."""

import asyncio
from typing import Any

from config.settings import load_settings
from crm.db.engine import SessionFactory
from crm.domain.enums import HandoverStatus
from crm.jobs.handover_sender import HandoverSender, Peer
from hotline_cli.app import _handover_sender
from tests.integration.crm.test_exchange import (
    EMERGENCY,
    SECRET,
    World,
    handovers,
    transferred,
)
from tests.integration.crm.test_exchange import world as world
from tests.support.receiving_centre import ReceivingCentre

FIRE: dict[str, Any] = {**EMERGENCY, "order_type": "fire", "text": "厨房起火，浓烟很大"}


async def _status(sessions: SessionFactory, line: str) -> HandoverStatus:
    return next(r.status for r in await handovers(sessions) if r.line == line)


async def test_a_hanging_110_does_not_hold_up_119(world: World) -> None:
    api, centre, sessions, _ = world
    centre.hold = asyncio.Event()  # 110 takes the request and does not answer
    await transferred(api)  # to 110, stored first: the first due
    fire = await api.new_order(**FIRE)
    await api.ok(fire["id"], "transfer", "agent", target="119")
    async with ReceivingCentre(SECRET, line="119") as centre_119:
        job = HandoverSender(sessions, {"110": Peer(centre.url, SECRET),
                                        "119": Peer(centre_119.url, SECRET)},
                             retry_first_s=60, retry_max_s=60, self_id="12345",
                             timeout_s=60)  # fmt: skip
        async with job:
            job.wake()
            # well before 110's request could time out, 119 has its hand-over
            await centre_119.wait_for(lambda c: len(c.kept) == 1, timeout=20)
            assert centre.kept == {} and centre.attempts == []
            async with asyncio.timeout(20):
                while await _status(sessions, "119") is HandoverStatus.PENDING:  # noqa: ASYNC110 (another transaction's row)
                    await asyncio.sleep(0.02)
            assert await _status(sessions, "110") is HandoverStatus.PENDING
            centre.hold.set()
            await centre.wait_for(lambda c: len(c.kept) == 1, timeout=20)
            async with asyncio.timeout(20):
                while await _status(sessions, "110") is HandoverStatus.PENDING:  # noqa: ASYNC110 (another transaction's row)
                    await asyncio.sleep(0.02)
    assert [(r.line, r.status.value, r.attempts) for r in await handovers(sessions)] == [
        ("110", "delivered", 1), ("119", "delivered", 1)]  # fmt: skip


async def test_the_sender_names_itself_as_the_centres_settings_say(world: World) -> None:
    api, centre, sessions, _ = world
    centre.sender_id = "96123"  # a centre whose hotline number is not 12345
    await transferred(api)
    settings = load_settings(environ={"HOTLINE_CENTRE__INBOUND_NUMBER": "96123"})
    job = _handover_sender(settings, sessions)
    job.peers = {"110": Peer(centre.url, SECRET)}
    async with job:
        job.wake()
        await centre.wait_for(lambda c: len(c.attempts) >= 1, timeout=20)
    assert [a.status for a in centre.attempts][:1] == [200]
    assert len(centre.kept) == 1
