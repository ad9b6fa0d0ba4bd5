"""Order status self-service (key 8) on the real Asterisk with SIPp callers and real orders
registered and dispatched through the CRM's use cases. What the caller heard is read from
Asterisk's own AGI debug log: each command the flow sent on the caller's channel and Asterisk's
reply to it (a prompt played to its end says ``endpos``, one cut by a key names the key, GET
DATA the keys it collected), in order. The cases are independent callers: all are placed at
once (the module fixture ``calls``), each test reads its own."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from crm.domain.clock import utc_now
from crm.domain.commands import Dispatch
from crm.domain.enums import Channel, OrderType, Role, UnitKind
from crm.domain.lifecycle import Actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_unit, create_user
from crm.usecases.register import NewOrder, register_order
from crm.usecases.transition import apply_command
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, DtmfVia, Press
from ivr.order_status_prompts import UNIT_PREFIX
from telephony.call import FINAL, Call, CallState
from tests.e2e.harness import Centre, running_centre
from tests.e2e.ivr_support import prompt_ms
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

OWNER = "13900000201"  # registered the open order, calls from that phone
OTHER = "1390000021"  # + one digit per test: calls from phones with no order
SECRET = "13900000203"  # asked for confidentiality (安全保密)
UNIT_NAME = "市城市管理局"
INFO_GAP_MS = 120  # between two keys by SIP INFO
RTP_GAP_MS = 300  # by RFC 2833: a key's pcap lasts DTMF_PCAP_MS


@dataclass(frozen=True)
class Order:
    digits: str  # what a caller keys: the number without the centre's code
    registered: date
    due: date | None


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("order-status")) as centre:
        asterisk = centre.hotline.asterisk
        await asterisk.cli(f"logger add channel {agi_log(centre)} verbose")
        await asterisk.cli("agi set debug on")
        yield centre


def agi_log(centre: Centre) -> Path:
    return centre.hotline.layout.log / "agi-debug"


def read_log(centre: Centre) -> str:
    return agi_log(centre).read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
async def orders(centre: Centre) -> dict[str, Order]:
    """An open order of OWNER dispatched to a unit, and a confidential one of SECRET."""
    hotline = centre.hotline
    async with hotline.sessions() as session, session.begin():
        user, _ = await create_user(session, "受理员甲", Role.AGENT, None)
        taker = Actor(user_id=user.id, role=Role.AGENT, unit_id=None)
        calendar = await load_calendar(session)
        unit = await create_unit(session, "CGJ", UNIT_NAME, UnitKind.DEPARTMENT)
        made = {}
        for phone, confidential in ((OWNER, False), (SECRET, True)):
            order = await register_order(
                session,
                NewOrder(Channel.PHONE, "小区门口路灯不亮", OrderType.HELP,
                         caller_name="市民", caller_number=phone, confidential=confidential),
                taker, centre_code=hotline.settings.centre.code, now=utc_now(), calendar=calendar,
            )  # fmt: skip
            done = await apply_command(
                session, order.id, Dispatch(unit.id), taker, now=utc_now(), calendar=calendar
            )
            _, day, seq = order.number.split("-")
            made[phone] = Order(day + seq, date.fromisoformat(day), done.due_date)
    return made


def keys(digits: str, first_ms: int, via: DtmfVia = DtmfVia.INFO) -> tuple[Press, ...]:
    """``digits`` then ``#``, the first ``first_ms`` after the previous key."""
    gap = INFO_GAP_MS if via is DtmfVia.INFO else RTP_GAP_MS
    return tuple(Press(k, first_ms if i == 0 else gap, via) for i, k in enumerate(digits + "#"))


_LINE = re.compile(r"<(?P<chan>[^>]+)>AGI (?P<dir>Rx <<|Tx >>) (?P<text>.*)$")
_PROMPT = re.compile(r'^(STREAM FILE|GET DATA) "[^"]*/(?P<name>[^/"]+)"')


@dataclass(frozen=True)
class Heard:
    prompt: str  # the prompt file's name
    reply: str  # Asterisk's reply: "200 result=0 endpos=…", "200 result=49 …", "200 result=123"

    @property
    def played(self) -> bool:
        """Asterisk played some of it: to its end, or until a key stopped it."""
        return "endpos=" in self.reply and not self.reply.endswith("endpos=0")


def exchanges(text: str, channel: str) -> list[tuple[str, str]]:
    """(command, Asterisk's reply) on ``channel``, in order."""
    out: list[tuple[str, str]] = []
    command = None
    for line in text.splitlines():
        found = _LINE.search(line)
        if found is None or found["chan"] != channel:
            continue
        if found["dir"] == "Rx <<":
            command = found["text"]
        elif command is not None or found["text"] == "HANGUP":  # Asterisk's own, unasked
            out.append((command or "", found["text"]))
            command = None
    return out


def heard(exchanged: Sequence[tuple[str, str]]) -> list[Heard]:
    return [
        Heard(m["name"], reply) for command, reply in exchanged if (m := _PROMPT.match(command))
    ]


Exchanged = list[tuple[str, str]]


async def call_and_read(
    centre: Centre, number: str, then: tuple[Press, ...], hangup_after_ms: int
) -> tuple[Call, Exchanged]:
    """One caller presses 8 (by RTP) in the greeting, then ``then``: the call once ended and
    what its AGI session exchanged with Asterisk."""
    plan = CallerPlan(dtmf="8", dtmf_after_ms=600, hangup_after_ms=hangup_after_ms, then=then)
    result = await centre.call([CallerIdentity("市民", number)], plan)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    found: Exchanged = []

    async def ended_in_log() -> bool:
        nonlocal found
        found = exchanges(read_log(centre), call.channel)
        return any(c.startswith("VERBOSE") or r == "HANGUP" for c, r in found)

    await eventually(ended_in_log, 10, f"the AGI session of {call.channel} in the log")
    return call, found


def names(said: Sequence[Heard]) -> list[str]:
    return [h.prompt for h in said]


def variable(exchanged: Sequence[tuple[str, str]], name: str) -> str | None:
    sets = [c for c, r in exchanged if c.startswith(f"SET VARIABLE {name} ") and "result=1" in r]
    return sets[-1].split(" ", 3)[3].strip('"') if sets else None


def date_prompts(day: date) -> list[str]:
    return [f"hotline-os-month-{day.month}", f"hotline-os-day-{day.day}"]


BAD_ENTRIES = {"long-run": "1" * 30, "star-hash-run": "*#*#*#"}


@pytest.fixture(scope="module")
async def calls(centre: Centre, orders: dict[str, Order]) -> dict[str, tuple[Call, Exchanged]]:
    """Every case's caller, all at once: by case, the call and its AGI exchanges."""
    ms = {name: prompt_ms(centre, f"hotline-os-{name}") for name in ("invalid", "not-matched")}
    own, secret = orders[OWNER], orders[SECRET]
    # the offer (its date and menu) cut by 1; 0 once the readout has played to its end
    offered = (Press("1", 3000), Press("0", 9500, DtmfVia.INFO))
    refused = (
        *keys(own.digits, 1000),
        *keys("13900000999", 1000),
        *keys(own.digits[:8] + "999999", ms["not-matched"] + 1000),  # after the refusal
        *keys(OWNER, 1000),
    )
    cases: dict[str, tuple[str, tuple[Press, ...], int]] = {
        "own": (OWNER, offered, 1500),
        # the order number by RTP, the phone by SIP INFO, with the international prefix
        "keyed": (OTHER + "1", (*keys(own.digits, 1000, DtmfVia.RFC2833),
                                *keys("0086" + OWNER, 1000)), 2500),
        "refused": (OTHER + "2", refused, ms["not-matched"] + 1500),
        "secret": (SECRET, (*keys(secret.digits, 1000), *keys("", 1000)), 2000),
        **{
            f"bad-{name}": (
                OTHER + str(3 + i),
                (*[Press(k, 1000 if j == 0 else INFO_GAP_MS, DtmfVia.INFO)
                   for j, k in enumerate(entry)],
                 *keys("0", ms["invalid"] + 1000, DtmfVia.RFC2833)),
                2000,
            )
            for i, (name, entry) in enumerate(BAD_ENTRIES.items())
        },
        # the order-number prompt and the 5 s wait for a key, then on to an agent
        "nothing": (OTHER + "5", (), prompt_ms(centre, "hotline-os-ask-order") + 7000),
    }  # fmt: skip
    done = await asyncio.gather(
        *(call_and_read(centre, number, then, hang_up) for number, then, hang_up in cases.values())
    )
    return dict(zip(cases, done, strict=True))


async def test_the_callers_own_order_is_offered_and_read_back(
    centre: Centre, calls: dict[str, tuple[Call, Exchanged]], orders: dict[str, Order]
) -> None:
    """Caller ID = the order's phone: offered at once (1), read to its end, 0 for an agent."""
    order = orders[OWNER]
    assert order.due is not None
    call, exchanged = calls["own"]
    said = heard(exchanged)
    spoken = names(said)
    assert spoken[:4] == ["hotline-welcome", "hotline-os-own", *date_prompts(order.registered)]
    readout = spoken.index("hotline-os-handling")
    assert spoken[readout - 1] == "hotline-os-own-menu"
    assert said[readout - 1].reply.startswith("200 result=49")  # 1 stopped the offer
    unit, due = spoken[readout + 1 : readout + 3], spoken[readout + 3 : readout + 6]
    assert unit[0] == "hotline-os-unit" and unit[1].startswith(UNIT_PREFIX)
    assert due == ["hotline-os-due", *date_prompts(order.due)]
    assert all(h.played for h in said[readout : readout + 6]), said
    assert (centre.hotline.layout.prompts / f"{unit[1]}.txt").read_text().endswith(f"{UNIT_NAME}\n")
    assert spoken[readout + 6] == "hotline-os-end"
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "read"
    assert call.queued_at is not None and call.ivr_choice == "0"  # then to the operator


async def test_an_order_keyed_in_is_read_to_another_phone_that_keys_the_owners_number(
    calls: dict[str, tuple[Call, Exchanged]], orders: dict[str, Order]
) -> None:
    """Order digits during the prompt (by RTP), the owner's number with the international
    prefix (0086, by SIP INFO): read as the same number."""
    order = orders[OWNER]
    call, exchanged = calls["keyed"]
    said = heard(exchanged)
    spoken = names(said)
    assert "hotline-os-own" not in spoken  # OTHER has no order of their own
    assert spoken[1:3] == ["hotline-os-ask-order", "hotline-os-ask-phone"]
    assert said[1].reply == f"200 result={order.digits}"
    assert said[2].reply == f"200 result=0086{OWNER}"
    assert spoken[3] == "hotline-os-handling"
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "read"
    assert call.state is CallState.ENDED


async def test_a_wrong_number_and_an_unknown_order_hear_the_same_refusal(
    calls: dict[str, tuple[Call, Exchanged]],
) -> None:
    """The phone is asked for either way, nothing of the order is said, then an agent."""
    call, exchanged = calls["refused"]
    spoken = names(heard(exchanged))
    asked = ["hotline-os-ask-order", "hotline-os-ask-phone", "hotline-os-not-matched"]
    assert spoken == ["hotline-welcome", *asked, *asked]
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "refused"
    assert call.queued_at is not None  # two failed checks: an agent takes over


async def test_a_confidential_order_is_not_read_on_the_caller_id_alone(
    calls: dict[str, tuple[Call, Exchanged]],
) -> None:
    """Its own caller is not offered it, and must key the number in: with nothing keyed for
    the number (# alone), nothing is said."""
    call, exchanged = calls["secret"]
    said = heard(exchanged)
    spoken = names(said)
    assert spoken[:3] == ["hotline-welcome", "hotline-os-ask-order", "hotline-os-ask-phone"]
    assert not any(s.startswith(("hotline-os-handling", UNIT_PREFIX)) for s in spoken)
    assert "hotline-os-own" not in spoken
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "refused"
    assert call.queued_at is not None


@pytest.mark.parametrize("entry", list(BAD_ENTRIES))
async def test_bad_dtmf_asks_again_and_0_then_goes_to_an_agent(
    calls: dict[str, tuple[Call, Exchanged]], entry: str
) -> None:
    """A run longer than any number (cut at GET DATA's limit, the rest lost in the
    not-interruptible prompt that follows) or of * and #: asked again, where 0 (by RTP)
    asks for an agent."""
    call, exchanged = calls[f"bad-{entry}"]
    said = heard(exchanged)
    assert names(said) == ["hotline-welcome", "hotline-os-ask-order", "hotline-os-invalid",
                           "hotline-os-ask-order"]  # fmt: skip
    assert said[1].reply in {"200 result=" + "1" * 24, "200 result=*"}
    assert said[3].reply == "200 result=0"
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "agent"
    # queued, then answered or given up (the agents may be busy with the other cases' calls)
    assert call.queued_at is not None and call.state in FINAL


async def test_a_caller_who_keys_nothing_goes_to_an_agent(
    calls: dict[str, tuple[Call, Exchanged]],
) -> None:
    call, exchanged = calls["nothing"]
    said = heard(exchanged)
    assert names(said) == ["hotline-welcome", "hotline-os-ask-order"]
    assert said[1].reply.startswith("200 result=")
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "refused"
    assert call.queued_at is not None
