"""Issue 15's IVR sweep on the real Asterisk with SIPp callers: the branches the other modules
leave out, bad keys and hostile caller IDs. Each matter key by RFC 2833 and by SIP INFO cuts
the greeting short (barge-in) and joins its own queue (Asterisk's QueueCallerJoin); an invalid
key followed by silence, and a run of forty keys, reach the operator after two replays; caller
IDs that are no phone number (letters, SQL and HTML, control and line-break characters,
full-width digits, 80 characters, withheld) go on to their queue, each logged by what was
wrong with it; in the order status they are refused without the number keyed in and read with
it; a `*#` run in the survey is asked again and the next key stored; a name with control
characters still leaves its callback request; the FastAGI server serves the next caller.

Where each IVR branch is proved end to end (RTP: RFC 2833; INFO: SIP INFO):

=================================  ==============================================  ==========
branch                             module                                          keys by
=================================  ==============================================  ==========
key 1/2/3/0, its queue, barge-in   here (each key, QueueCallerJoin's queue)        RTP, INFO
no key: operator at once           test_calls (..._queued_within_about_8_s)        —
invalid key, then a valid one      test_calls (a_second_key_after_an_invalid...)   RTP, INFO
invalid keys: 2 replays, operator  test_calls (three_invalid_keys...)              RTP, INFO
invalid key, then timeouts         here; test_calls (then 0)                       RTP, INFO
`*#` run / long run at the menu    test_calls (star_and_hash); here (40 digits)    RTP, INFO
key 9: 110, failover to backup     test_emergency_failover (hostile name too)      RTP, INFO
nuisance number refused            test_nuisance (RTP heard = the prompt)          —
after hours: the duty phone        test_duty                                       RTP
order status (key 8): own order,   test_order_status (prompts and GET DATA         RTP, INFO
keyed, refused, confidential,      replies in order); here: key 8 by INFO, caller
bad entries, nothing               IDs that are no number
survey: answer, invalid, none      test_survey; here: a `*#` run                   RTP, INFO
nobody: message, callback          test_duty; here: a hostile name and number      RTP, INFO
hostile caller ID at the menu      here (the number); test_calls (the name)        RTP, INFO
=================================  ==============================================  ==========
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from crm.domain.clock import utc_now
from crm.domain.enums import Channel, OrderType, Role
from crm.domain.lifecycle import Actor
from crm.domain.survey import SurveyAnswer
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_user
from crm.usecases.caller_message import CALLBACK_TEXT
from crm.usecases.register import NewOrder, register_order
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult, DtmfVia, Press
from telephony.call import Call, CallState
from tests.e2e.harness import Centre, running_centre
from tests.e2e.ivr_support import AsteriskWitness, asterisk_witness, prompt_ms
from tests.e2e.queue_support import ended_record
from tests.e2e.test_duty import nobody_logged_in, order_of
from tests.e2e.test_order_status import agi_log, exchanges, heard, names, read_log, variable
from tests.e2e.test_survey import in_survey
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

RTP, INFO = DtmfVia.RFC2833, DtmfVia.INFO
# a queue of its own per matter, so that Asterisk's QueueCallerJoin tells each key apart
IVR_QUEUES = {"consult": "consult", "complaint": "complaint", "help": "help",
              "operator": "hotline"}  # fmt: skip
MATTERS = {"1": ("consult", "consult"), "2": ("complaint", "complaint"),
           "3": ("help", "help"), "0": ("operator", "hotline")}  # fmt: skip
WELCOME, MENU, INVALID = "hotline-welcome", "hotline-menu", "hotline-invalid"
SURVEY, THANKS = "hotline-survey", "hotline-survey-thanks"
OWNER = "13900000401"  # registered the open order
GAP_MS = 120  # between two keys by SIP INFO
# as the caller's phone sends them (SIP URI escapes decoded by Asterisk), and what the log
# is to say of each
HOSTILE = {
    "letters": ("13900000301abc", "letters or symbols"),
    "sql": ("1'OR'1'='1--", "letters or symbols"),
    "html": ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "letters or symbols"),
    "controls": ("139%7F0000%090302", "control characters"),  # DEL and TAB
    "line-separator": ("139%E2%80%A80303", "control characters"),  # U+2028
    "full-width": ("%EF%BC%91%EF%BC%93%EF%BC%99%EF%BC%90", "non-ASCII characters"),
    "long": ("9" * 200, "longer than 32 characters"),  # Asterisk keeps 80 of them
    "withheld": ("anonymous", "withheld"),
}


@dataclass(frozen=True)
class Case:
    tag: str  # the caller's name: how the test finds its call
    number: str
    presses: tuple[Press, ...]
    hangup_after_ms: int


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def about(self, uniqueid: str) -> list[str]:
        return [r.getMessage() for r in self.records if repr(uniqueid) in r.getMessage()]


@pytest.fixture(scope="module")
def logged() -> Iterator[Records]:
    """What the IVR and its ports log while the module runs."""
    handler = Records()
    loggers = [logging.getLogger(n) for n in ("ivr", "hotline_cli")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        lg.addHandler(handler)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture(scope="module")
async def centre(
    tmp_path_factory: pytest.TempPathFactory, logged: Records
) -> AsyncIterator[Centre]:
    state = tmp_path_factory.mktemp("ivr-branches")
    async with running_centre(
        state, survey=True, more_queues=("consult", "help"), ivr_queues=IVR_QUEUES
    ) as centre:
        await centre.hotline.asterisk.cli(f"logger add channel {agi_log(centre)} verbose")
        await centre.hotline.asterisk.cli("agi set debug on")
        yield centre


@pytest.fixture(scope="module")
async def witness(centre: Centre) -> AsyncIterator[AsteriskWitness]:
    async with asterisk_witness(centre) as seen:
        yield seen


@pytest.fixture(scope="module")
async def order_digits(centre: Centre) -> str:
    """OWNER's open order, as a caller keys its number (date and sequence)."""
    hotline = centre.hotline
    async with hotline.sessions() as session, session.begin():
        user, _ = await create_user(session, "受理员乙", Role.AGENT, None)
        order = await register_order(
            session,
            NewOrder(Channel.PHONE, "楼道灯不亮", OrderType.HELP, caller_name="市民",
                     caller_number=OWNER),
            Actor(user_id=user.id, role=Role.AGENT, unit_id=None),
            centre_code=hotline.settings.centre.code, now=utc_now(),
            calendar=await load_calendar(session),
        )  # fmt: skip
    _, day, seq = order.number.split("-")
    return day + seq


def keyed(digits: str, first_ms: int) -> tuple[Press, ...]:
    """``digits`` then ``#`` by SIP INFO, the first ``first_ms`` after the previous key."""
    return tuple(Press(k, first_ms if i == 0 else GAP_MS, INFO) for i, k in enumerate(digits + "#"))


def calling(centre: Centre, case: Case) -> asyncio.Task[CallerResult]:
    plan = CallerPlan(dtmf=None, hangup_after_ms=case.hangup_after_ms, then=case.presses)
    return asyncio.create_task(centre.call([CallerIdentity(case.tag, case.number)], plan))


async def placed(centre: Centre, case: Case) -> Call:
    """The case's call, once it has ended."""
    result = await calling(centre, case)
    assert result.ok, (case.tag, result.errors)
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_name == case.tag and not e.call.active, 30
    )
    return effect.call


def cases(centre: Centre, order: str) -> list[Case]:
    ms = {n: prompt_ms(centre, n) for n in (INVALID, MENU, "hotline-os-received")}
    wait = centre.hotline.settings.ivr.choice_timeout_ms
    two_replays = 600 + 2 * (ms[INVALID] + ms[MENU] + wait) + 3000
    matters = [
        Case(f"matter-{key}-{via}", f"1370000{key}{i}00", (Press(key, 600, via),), 2500)
        for key in MATTERS
        for i, via in enumerate((RTP, INFO))
    ]
    silent_after = [
        Case(f"invalid-then-silent-{via}", f"137000050{i}0", (Press(k, 600, via),), two_replays)
        for i, (k, via) in enumerate((("4", RTP), ("6", INFO)))
    ]
    run = tuple(Press("4567"[i % 4], 600 if i == 0 else GAP_MS, INFO) for i in range(40))
    hostile = [
        Case(f"hostile-{name}", number, (Press("2", 600, RTP if i % 2 else INFO),), 2500)
        for i, (name, (number, _why)) in enumerate(HOSTILE.items())
    ]
    order_status = [
        # the order's phone with letters after it: never offered it, refused without the
        # number keyed in (# alone), then an agent
        Case("os-letters", OWNER + "'--",
             (Press("8", 600, INFO), *keyed(order, 1000), *keyed("", 1000)), 8000),
        # withheld: the order and its phone keyed in, read, then 0 for an agent
        Case("os-withheld", "anonymous",
             (Press("8", 600), *keyed(order, 1000), *keyed(OWNER, 1000),
              Press("0", ms["hotline-os-received"] + 1200, INFO)),
             600 + 1000 + 15 * GAP_MS + 1000 + 12 * GAP_MS + ms["hotline-os-received"] + 4200),
    ]  # fmt: skip
    return [*matters, *silent_after, Case("long-run", "13700006000", run, two_replays),
            *hostile, *order_status]  # fmt: skip


Calls = dict[str, Call | BaseException]


@pytest.fixture(scope="module")
async def calls(centre: Centre, order_digits: str) -> Calls:
    """Every case's caller, all at once: by tag, the call once ended (or why it failed, for
    that case's test to raise)."""
    placing = cases(centre, order_digits)
    done = await asyncio.gather(*(placed(centre, case) for case in placing), return_exceptions=True)
    return {case.tag: call for case, call in zip(placing, done, strict=True)}


def call_of(calls: Calls, tag: str) -> Call:
    call = calls[tag]
    if isinstance(call, BaseException):
        raise call
    return call


def queue_joined(witness: AsteriskWitness, call: Call) -> str:
    """The queue Asterisk itself put the caller in."""
    joined = witness.first("QueueCallerJoin", call.uniqueid)
    assert joined is not None, f"{call.caller_name} never queued"
    return joined["Queue"]


@pytest.mark.parametrize("via", [RTP, INFO])
@pytest.mark.parametrize("key", list(MATTERS))
async def test_each_matter_key_in_the_greeting_acts_at_once_and_joins_its_queue(
    centre: Centre, witness: AsteriskWitness, calls: Calls, key: str, via: DtmfVia
) -> None:
    call = call_of(calls, f"matter-{key}-{via}")
    label, queue = MATTERS[key]
    assert queue_joined(witness, call) == queue
    assert (call.ivr_choice, call.ivr_label, call.queue) == (key, label, queue)
    assert witness.played(call.channel) == [WELCOME]
    # the key came 0.6 s after the answer: queued long before the greeting could end
    waited = await witness.answer_to_queue_s(call.uniqueid)
    assert waited < prompt_ms(centre, WELCOME) / 2 / 1000, waited


@pytest.mark.parametrize("via", [RTP, INFO])
async def test_an_invalid_key_then_silence_replays_the_menu_twice_then_the_operator(
    witness: AsteriskWitness, calls: Calls, via: DtmfVia
) -> None:
    call = call_of(calls, f"invalid-then-silent-{via}")
    assert witness.played(call.channel) == [WELCOME, INVALID, MENU, MENU]
    assert queue_joined(witness, call) == "hotline"
    assert (call.ivr_choice, call.ivr_label) == ("", "operator")


async def test_a_run_of_forty_digits_costs_two_replays_then_the_operator(
    witness: AsteriskWitness, calls: Calls
) -> None:
    """Keys during the "invalid" prompt are lost, each that reaches a menu is one strike."""
    call = call_of(calls, "long-run")
    assert witness.played(call.channel) == [WELCOME, INVALID, MENU, INVALID, MENU]
    assert queue_joined(witness, call) == "hotline"
    assert (call.ivr_choice, call.ivr_label) == ("", "operator")


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_a_caller_id_that_is_no_number_goes_on_to_its_queue_and_is_logged(
    witness: AsteriskWitness, calls: Calls, logged: Records, name: str
) -> None:
    call = call_of(calls, f"hostile-{name}")
    assert queue_joined(witness, call) == "complaint"
    assert (call.ivr_choice, call.ivr_label) == ("2", "complaint")
    assert witness.played(call.channel) == [WELCOME]
    said = " ".join(logged.about(call.uniqueid))
    assert f"is no phone number ({HOSTILE[name][1]})" in said, said
    assert call.caller_number not in said  # what was wrong with it, never the caller ID


async def test_a_caller_id_with_the_owners_number_in_it_is_refused_the_order(
    centre: Centre, witness: AsteriskWitness, calls: Calls
) -> None:
    """Key 8 by SIP INFO; never offered the order its caller ID almost names, asked for the
    phone after the order number, refused on # alone, then an agent."""
    call = call_of(calls, "os-letters")
    exchanged = exchanges(read_log(centre), call.channel)
    spoken = names(heard(exchanged))
    assert spoken == [WELCOME, "hotline-os-ask-order", "hotline-os-ask-phone"]
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "refused"
    assert queue_joined(witness, call) == "hotline"


async def test_a_withheld_caller_keying_the_order_and_its_phone_hears_it(
    centre: Centre, witness: AsteriskWitness, calls: Calls, order_digits: str
) -> None:
    """What the caller heard, in order: each prompt and the digits GET DATA collected."""
    call = call_of(calls, "os-withheld")
    exchanged = exchanges(read_log(centre), call.channel)
    said = heard(exchanged)
    assert names(said) == [WELCOME, "hotline-os-ask-order", "hotline-os-ask-phone",
                           "hotline-os-received", "hotline-os-end"]  # fmt: skip
    assert [h.reply for h in said[1:3]] == [f"200 result={order_digits}", f"200 result={OWNER}"]
    assert said[3].played and said[4].reply.startswith("200 result=48")  # 0 stopped the menu
    assert variable(exchanged, "HOTLINE_ORDER_STATUS") == "read"
    assert queue_joined(witness, call) == "hotline"


async def test_a_star_hash_run_in_the_survey_is_asked_again_and_the_next_key_stored(
    centre: Centre, witness: AsteriskWitness, calls: Calls
) -> None:
    """From a caller ID with HTML in it: the run (by SIP INFO) is one invalid answer, the
    keys after the first lost in the "invalid" prompt; 2 by RTP after it is the answer."""
    run = tuple(Press("*#"[i % 2], 4000 if i == 0 else GAP_MS, INFO) for i in range(8))
    presses = (Press("1", 600), *run, Press("2", prompt_ms(centre, INVALID) + 800))
    case = Case("survey-run", "%3Cb%3E13900000501", presses, 30_000)
    task = calling(centre, case)
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_name == case.tag and e.call.state is CallState.TALKING, 20
    )
    await centre.hotline.ami.action("Hangup", Channel=talking.call.agent_channel, Cause="16")
    await eventually(lambda: in_survey(centre, talking.call.uniqueid), 10, "in the survey")
    result = await asyncio.wait_for(task, 40)
    assert result.ok, result.errors  # the centre hung up after thanking the caller
    record = await ended_record(centre, talking.call.linkedid)
    assert record.survey is SurveyAnswer.BASICALLY_SATISFIED
    assert witness.played(talking.call.channel)[-4:] == [SURVEY, INVALID, SURVEY, THANKS]


async def test_a_name_with_control_characters_nobody_answers_still_leaves_a_callback(
    centre: Centre, calls: Calls
) -> None:
    """Every agent logged out; the phone sends ESC and BEL in its name, HTML in its number:
    the callback request (1 by SIP INFO) is an order, without the number, the name cleaned."""
    presses = (Press("1", 600), Press("1", 2500, INFO))
    async with nobody_logged_in(centre):
        result = await calling(centre, Case("市民\x1b[31m\x07", "%3Ci%3E13900000601", presses,
                                            12_000))  # fmt: skip
        assert result.ok, result.errors
        call = (await centre.log.wait_for(
            lambda e: e.call.caller_number.endswith("13900000601") and not e.call.active, 30
        )).call  # fmt: skip
        order, recording = await order_of(centre, call.linkedid)
    assert (order.text, order.caller_number, recording) == (CALLBACK_TEXT, "", "")
    assert order.caller_name.startswith("市民")
    assert not any(unicodedata.category(ch) == "Cc" for ch in order.caller_name)


async def test_the_fastagi_server_serves_the_next_caller_and_no_flow_failed(
    centre: Centre, witness: AsteriskWitness, calls: Calls, logged: Records
) -> None:
    call = await placed(centre, Case("next", "13700007000", (Press("3", 600, INFO),), 2500))
    assert queue_joined(witness, call) == "help"
    failed = [r.getMessage() for r in logged.records
              if r.name == "ivr.server" and r.levelno >= logging.WARNING]  # fmt: skip
    assert failed == []
