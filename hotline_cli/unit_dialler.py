"""The handling units' calls to citizens (`crm.api.unit_calls.Dialler`) from the HTTP process,
over an AMI session of its own opened for each request: the calls are few, and the HTTP
process then keeps no connection to Asterisk, nor its events, between them. The session is
logged in before the request's transaction takes the order's lock, so only the Originate (or
the Hangup) runs while it is held. The call is placed as the desk's 回访 is
(`telephony.actions.call_out`: the handler's phone first, then the citizen through the
outbound trunk, recorded); the call process's recording checker attaches the file once the
result ended the call's record. The number is never logged."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from config.settings import Ami
from crm.errors import Unavailable
from telephony.actions import RING_S, AmiActions, call_out, hang_up
from telephony.ami import AmiClient
from telephony.ami_connection import AmiActionError, AmiConnectionLost

log = logging.getLogger(__name__)

CONNECT_S = 5.0  # Asterisk's AMI on loopback answers a login in milliseconds


@dataclass(frozen=True)
class AmiLine:
    """One logged-in AMI session's calls."""

    ami: AmiActions
    ring_s: float

    async def call_out(
        self, number: str, extension: str, call_id: str, caller_id: str, recording: str
    ) -> None:
        try:
            await call_out(self.ami, number, extension, call_id, self.ring_s, caller_id,
                           recording)  # fmt: skip
        except TimeoutError:  # Asterisk may have accepted it and answered late
            log.warning("unit call %s from %s: Originate unanswered, it may have been placed",
                        call_id, extension)  # fmt: skip
            raise Unavailable(
                "asterisk_unavailable", "电话系统未及时答复，外呼可能已发出，请查看话机后再试"
            ) from None
        except (AmiActionError, AmiConnectionLost) as exc:
            log.warning("unit call %s from %s not placed: %s", call_id, extension,
                        type(exc).__name__)  # fmt: skip
            raise Unavailable("asterisk_unavailable", "电话系统未接受外呼，请稍后再试") from None

    async def hang_up(self, call_id: str) -> None:
        try:
            await hang_up(self.ami, call_id)
        except AmiActionError as exc:  # no such channel: the call is over already
            log.debug("unit call %s already over (%s)", call_id, exc)
        except (AmiConnectionLost, TimeoutError) as exc:
            log.warning("unit call %s not hung up (%s): it may still be on", call_id,
                        type(exc).__name__)  # fmt: skip


@dataclass(frozen=True)
class AmiDialler:
    ami: Ami  # the AMI listener and account (secret resolved)
    recorded: bool  # `[recordings] enabled`
    ring_s: float = RING_S  # the handler's phone, then the citizen's: the whole ring time

    @asynccontextmanager
    async def line(self) -> AsyncIterator[AmiLine]:
        client = AmiClient(
            host=self.ami.host, port=self.ami.port, username=self.ami.username,
            secret=self.ami.secret.get_secret_value(),
        )  # fmt: skip
        async with client:
            try:
                await client.wait_connected(CONNECT_S)
            except TimeoutError:
                log.warning("unit calls: no AMI login within %.0f s", CONNECT_S)
                raise Unavailable("asterisk_unavailable", "电话系统未连接，请稍后再试") from None
            yield AmiLine(client, self.ring_s)
