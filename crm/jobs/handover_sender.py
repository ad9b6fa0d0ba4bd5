"""The sender of stored exchange messages (hand-overs, replies): each posted, signed, to its
peer until the peer acknowledges it (2xx), with exponential back-off kept in the database.

Every attempt is counted and its next time committed *before* the request goes out, so a
backend killed mid-attempt resumes on the same schedule with the same message (same
`Idempotency-Key`: the peer keeps it once). A message for a line with no peer configured is
marked `no_peer` (a supervisor's recorded decision confirms such a hand-over). After
`ALERT_AFTER` failed attempts the order gets one `handover_undelivered` alert (audited, signed
by the system user `SYSTEM_USER`); sending goes on.
One failing message never stops the others: each is tried on its own, and each peer is
served by a task of its own (at most `PER_PEER` posts at once), so a peer that hangs until the
timeout holds up only its own messages, never another line's. The sender identifies itself to
its peers with the centre's number (`[centre] inbound_number`, "12345").
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

import aiohttp
from sqlalchemy import or_, select, update

from crm.db.engine import SessionFactory
from crm.db.exchange_models import Handover
from crm.db.models import WorkOrder
from crm.domain import exchange_signing as signing
from crm.domain.clock import utc_now
from crm.domain.enums import AlertKind, HandoverDirection, HandoverStatus
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.jobs.periodic import PeriodicJob
from crm.usecases.alerts import raise_alert

log = logging.getLogger(__name__)

ALERT_AFTER = 5
SYSTEM_USER = "系统对接"
BATCH = 20
PER_PEER = 4
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Peer:
    url: str
    secret: bytes


@dataclass(frozen=True)
class Due:
    id: int
    order_id: int | None
    line: str
    message_id: str
    body: bytes
    attempts: int


def encode(payload: Mapping[str, object]) -> bytes:
    """The bytes sent (and signed): the stored message, compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class HandoverSender(PeriodicJob):
    name = "hand-over sender"

    def __init__(
        self,
        sessions: SessionFactory,
        peers: Mapping[str, Peer],
        *,
        retry_first_s: float,
        retry_max_s: float,
        self_id: str,
        interval_s: float = 0.5,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        super().__init__(interval_s)
        self.sessions = sessions
        self.peers = dict(peers)
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.self_id = self_id
        self.timeout_s = timeout_s
        self.delivered = 0
        self.failed_attempts = 0
        self.actor: Actor | None = None
        self._serving: dict[str, asyncio.Task[None]] = {}  # line → its round in progress

    async def start(self) -> None:
        """The system user its alerts are signed by (the trail names who raised them)."""
        self.actor = await system_actor(self.sessions, SYSTEM_USER)

    async def run_once(self) -> None:
        """Mark what no peer takes, then start a round for each peer not in one already."""
        await self._mark_no_peer()
        for line in self.peers:
            if line not in self._serving:
                task = asyncio.create_task(self._serve(line), name=f"{self.name} {line}")
                self._serving[line] = task
                task.add_done_callback(functools.partial(self._served, line))

    def _served(self, line: str, _: asyncio.Task[None]) -> None:
        self._serving.pop(line, None)

    async def _serve(self, line: str) -> None:
        """One round for `line`: its due messages, `PER_PEER` posts at once."""
        try:
            slots = asyncio.Semaphore(PER_PEER)

            async def one(due: Due) -> None:
                async with slots:
                    await self._send(due)

            claimed = await self._claim_due(utc_now(), line)
            await asyncio.gather(*(one(due) for due in claimed))
            if len(claimed) == BATCH:
                self.wake()  # more may be due: the next round at once, not at the interval
        except Exception:
            self.failures += 1
            log.exception("%s: a round for line %s failed", self.name, line)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        rounds = list(self._serving.values())
        for task in rounds:
            task.cancel()
        if rounds:
            await asyncio.wait(rounds)

    async def _mark_no_peer(self) -> None:
        async with self.sessions() as session, session.begin():
            rows = (await session.scalars(
                select(Handover).where(
                    Handover.direction == HandoverDirection.OUTBOUND,
                    Handover.status == HandoverStatus.PENDING,
                    Handover.line.not_in(list(self.peers)),
                ).with_for_update()
            )).all()  # fmt: skip
            for row in rows:
                row.status, row.last_error = HandoverStatus.NO_PEER, "no peer configured"
                log.warning("hand-over %s: no exchange with line %s (no_peer)",
                            row.message_id, row.line)  # fmt: skip

    async def _claim_due(self, now: datetime, line: str) -> list[Due]:
        """`line`'s messages due now, each with its attempt counted and its next try
        committed."""
        claimed: list[Due] = []
        async with self.sessions() as session, session.begin():
            rows = (await session.scalars(
                select(Handover).where(
                    Handover.direction == HandoverDirection.OUTBOUND,
                    Handover.status == HandoverStatus.PENDING,
                    Handover.line == line,
                    or_(Handover.next_attempt_at.is_(None), Handover.next_attempt_at <= now),
                ).order_by(Handover.next_attempt_at, Handover.id).limit(BATCH).with_for_update()
            )).all()  # fmt: skip
            for row in rows:
                row.attempts += 1
                delay = signing.retry_delay(row.attempts, self.retry_first_s, self.retry_max_s)
                row.next_attempt_at = now + timedelta(seconds=delay)
                claimed.append(Due(row.id, row.order_id, row.line, row.message_id,
                                   encode(row.payload), row.attempts))  # fmt: skip
        return claimed

    async def _post(self, due: Due) -> str | None:
        """None once the peer acknowledged the message; else what went wrong."""
        peer = self.peers[due.line]
        headers = signing.headers(self.self_id, peer.secret, int(time.time()), due.body,
                                  due.message_id)  # fmt: skip
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as client,
                client.post(peer.url, data=due.body, headers=headers) as response,
            ):
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    async def _send(self, due: Due) -> None:
        error = await self._post(due)
        now = utc_now()
        async with self.sessions() as session, session.begin():
            if error is None:
                self.delivered += 1
                # only a message still pending: a reply may have moved it on meanwhile
                await session.execute(
                    update(Handover)
                    .where(Handover.id == due.id, Handover.status == HandoverStatus.PENDING)
                    .values(status=HandoverStatus.DELIVERED, delivered_at=now, last_error="")
                )
                log.info("exchange message %s delivered to %s (attempt %d)", due.message_id,
                         due.line, due.attempts)  # fmt: skip
                return
            self.failed_attempts += 1
            await session.execute(
                update(Handover).where(Handover.id == due.id).values(last_error=error[:300])
            )
            log.warning("exchange message %s to %s: attempt %d failed (%s)", due.message_id,
                        due.line, due.attempts, error)  # fmt: skip
            if due.attempts == ALERT_AFTER and due.order_id is not None:
                status = await session.scalar(
                    select(WorkOrder.status).where(WorkOrder.id == due.order_id)
                )
                assert status is not None and self.actor is not None, "entered, order kept"
                await raise_alert(session, due.order_id, status, AlertKind.HANDOVER_UNDELIVERED,
                                  self.actor, now, {"message_id": due.message_id,
                                  "line": due.line, "attempts": due.attempts,
                                  "error": error[:200]})  # fmt: skip
