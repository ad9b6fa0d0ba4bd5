"""The backend task placing the callback placeholders, on a real database: nothing placed
while the AMI link is not re-synced, a placeholder Asterisk still lists found again instead
of placed twice, the request marked before its Originate (and waiting again if it failed),
a placed request whose placeholder never showed placed again, a database error survived.

The AMI is a recording fake here (what Asterisk does with the Originate is the E2E tests'
`tests/e2e/test_queue_callback*.py`)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import load_settings
from crm.db.callback_models import QueueCallbackRow
from crm.db.engine import SessionFactory, session_factory
from crm.domain.clock import utc_now
from crm.domain.queue_callback import CallbackState
from crm.usecases import queue_callbacks as uc
from hotline_cli.queue_callbacks import PLACED_WATCH, QueueCallbacks
from telephony.ami_connection import AmiActionError
from telephony.tracker import CallTracker
from tests.support.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOCAL = "Local/{}@hotline-callback-place-0000002a;2"


class Ami:
    """Records each Originate with the request's state at that moment."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.originates: list[tuple[str, CallbackState | None]] = []
        self.variables: list[str] = []
        self.channels: list[dict[str, str]] = []
        self.fail = False

    async def action(self, name: str, timeout: float = 5, **headers: str) -> dict[str, str]:
        request = int(headers["Channel"].removeprefix("Local/").partition("@")[0])
        async with self.sessions() as s:
            row = await s.get(QueueCallbackRow, request)
            self.originates.append((headers["ChannelId"], None if row is None else row.state))
        self.variables.append(headers["Variable"])
        if self.fail:
            raise AmiActionError("Originate", {"Message": "failed"})
        return {}

    async def action_list(
        self, name: str, timeout: float = 5, **headers: str
    ) -> list[dict[str, str]]:
        assert name == "CoreShowChannels"
        return self.channels


@contextlib.asynccontextmanager
async def running(
    task: QueueCallbacks, ami: Ami, synced: Callable[[], bool]
) -> AsyncIterator[None]:
    runner = asyncio.create_task(task.run(ami, CallTracker(), synced))
    try:
        yield
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def a_request(sessions: SessionFactory, linkedid: str) -> int:
    async with sessions() as s, s.begin():
        return await uc.store_request(s, linkedid, "hotline", "13900000002", 3, 1796188600,
                                      utc_now())  # fmt: skip


async def row_of(sessions: SessionFactory, request: int) -> QueueCallbackRow:
    async with sessions() as s:
        row = await s.get(QueueCallbackRow, request)
        assert row is not None
        return row


def a_task(sessions: SessionFactory) -> QueueCallbacks:
    return QueueCallbacks(load_settings(environ={}, overrides={}), sessions)


async def test_nothing_is_placed_before_the_link_is_re_synced(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ami, asked = Ami(sessions), list[bool]()

    def synced() -> bool:
        asked.append(len(asked) >= 2)  # the link re-synced from the third tick on
        return asked[-1]

    request = await a_request(sessions, "cb-task.1")
    async with running(a_task(sessions), ami, synced):
        await eventually(lambda: originated(ami, 1), 10, "the request placed once re-synced")
    assert asked[:2] == [False, False]  # the loop ran twice with the link down
    assert len(ami.originates) == 1
    placeholder, state = ami.originates[0]
    assert state is CallbackState.PLACED  # marked before the Originate
    assert "QUEUE_PRIO" not in ami.variables[0]  # placed in its turn, not first
    assert (await row_of(sessions, request)).placeholder == placeholder


async def test_a_placeholder_asterisk_still_lists_is_found_again(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ami = Ami(sessions)
    request = await a_request(sessions, "cb-task.2")
    async with sessions() as s, s.begin():
        await uc.mark_placed(s, request, "1796188700.7", utc_now())
        await uc.place_again(s, request, utc_now())  # lost with the link
    ami.channels = [{"Channel": LOCAL.format(request), "Linkedid": "1796188700.7",
                     "Uniqueid": "1796188700.7;2"}]  # fmt: skip
    async with running(a_task(sessions), ami, lambda: True):
        await eventually(lambda: row_is(sessions, request, CallbackState.PLACED), 10,
                         "the placeholder found again")  # fmt: skip
    assert ami.originates == []
    assert (await row_of(sessions, request)).placeholder == "1796188700.7"


async def originated(ami: Ami, count: int) -> bool:
    return len(ami.originates) >= count


async def row_is(sessions: SessionFactory, request: int, state: CallbackState) -> bool:
    return (await row_of(sessions, request)).state is state


async def test_a_failed_originate_leaves_the_request_waiting(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ami = Ami(sessions)
    ami.fail = True
    request = await a_request(sessions, "cb-task.3")
    task = a_task(sessions)
    async with running(task, ami, lambda: True):
        await eventually(lambda: originated(ami, 1), 10, "an Originate")
        await eventually(lambda: row_is(sessions, request, CallbackState.WAITING), 10,
                         "the request waiting again")  # fmt: skip
    assert ami.originates[0][1] is CallbackState.PLACED
    assert task.health.failures >= 1


async def test_a_placeholder_never_seen_is_placed_again(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ami = Ami(sessions)
    request = await a_request(sessions, "cb-task.4")
    async with sessions() as s, s.begin():  # placed long ago; its Local channel never came
        await uc.mark_placed(s, request, "1796188700.9", utc_now() - PLACED_WATCH * 2)
    async with running(a_task(sessions), ami, lambda: True):
        await eventually(lambda: originated(ami, 1), 10, "the request placed again")
    assert ami.originates[0][0] != "1796188700.9"
    assert "QUEUE_PRIO=" in ami.variables[0] and "HOTLINE_QUEUED_AT=0" in ami.variables[0]


async def test_a_database_error_does_not_stop_the_loop(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ami = Ami(sessions)
    failing = {"left": 2}
    task = a_task(sessions)
    real = task.sessions

    def sessions_or_error() -> object:
        if failing["left"] > 0:
            failing["left"] -= 1
            raise OperationalError("SELECT", {}, Exception("database down"))
        return real()

    task.sessions = sessions_or_error  # type: ignore[assignment]
    request = await a_request(sessions, "cb-task.5")
    async with running(task, ami, lambda: True):
        await eventually(lambda: originated(ami, 1), 10, "the request placed after the errors")
    assert (await row_of(sessions, request)).state is CallbackState.PLACED
    assert task.health.failures >= 1
