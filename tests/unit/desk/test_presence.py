"""Every (state, input) pair of the agent presence machine, legal and illegal."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from agent_gateway.desk.presence import (
    BUSY,
    AgentPresence,
    Answered,
    CallEnded,
    FoundTalking,
    FoundWrappingUp,
    IllegalTransition,
    LoggedIn,
    LoggedOut,
    Paused,
    PresenceInput,
    Ringing,
    TookOver,
    Unpaused,
    WrapUpDone,
    apply,
)
from agent_gateway.edge.protocol import PresenceState as S

INPUTS: dict[str, PresenceInput] = {
    "LoggedIn": LoggedIn(),
    "LoggedOut": LoggedOut(),
    "Paused": Paused("午饭"),
    "Unpaused": Unpaused(),
    "Ringing": Ringing("L1"),
    "Answered": Answered("L1"),
    "CallEnded": CallEnded("L1"),
    "WrapUpDone": WrapUpDone(),
    "FoundTalking": FoundTalking("L1"),
    "FoundWrappingUp": FoundWrappingUp("L1", 260.0),
}

# Written out independently of the module's table: the rules of the issue, one per line.
LEGAL = {
    (S.LOGGED_OUT, "LoggedIn"): S.AVAILABLE,
    (S.AVAILABLE, "Ringing"): S.RINGING,
    (S.RINGING, "Answered"): S.TALKING,
    (S.RINGING, "CallEnded"): S.AVAILABLE,
    (S.TALKING, "CallEnded"): S.WRAP_UP,
    (S.WRAP_UP, "WrapUpDone"): S.AVAILABLE,
    (S.AVAILABLE, "Paused"): S.PAUSED,
    (S.RINGING, "Paused"): S.RINGING,  # pending until the call is done
    (S.TALKING, "Paused"): S.TALKING,
    (S.WRAP_UP, "Paused"): S.PAUSED,
    (S.PAUSED, "Paused"): S.PAUSED,
    (S.PAUSED, "Unpaused"): S.AVAILABLE,
    (S.AVAILABLE, "FoundTalking"): S.TALKING,  # what the re-sync after a (re)connect found
    (S.AVAILABLE, "FoundWrappingUp"): S.WRAP_UP,
    **{(state, "LoggedOut"): S.LOGGED_OUT for state in S},
}


def agent_in(state: S) -> AgentPresence:
    on_call = state in (S.RINGING, S.TALKING, S.WRAP_UP)
    reason = "培训" if state is S.PAUSED else None
    return AgentPresence("1001", "王芳", state, reason, 100.0, "L1" if on_call else None)


@pytest.mark.parametrize(("state", "name"), list(itertools.product(S, INPUTS)))
def test_transition(state: S, name: str) -> None:
    before = agent_in(state)
    expected = LEGAL.get((state, name))
    if expected is None:
        with pytest.raises(IllegalTransition, match=f"{name} not allowed when {state}"):
            apply(before, INPUTS[name], 200.0)
        return
    after = apply(before, INPUTS[name], 200.0)
    pending = name == "Paused" and expected is state is not S.PAUSED  # on a call: its time runs
    since = 100.0 if pending else 200.0
    assert (after.state, after.since, after.extension) == (expected, since, "1001")
    assert after.name == "王芳"
    assert after.reason == ("午饭" if expected is S.PAUSED else None)
    assert after.call_id == ("L1" if expected in (S.RINGING, S.TALKING, S.WRAP_UP) else None)
    assert after.pending_pause == ("午饭" if pending else None)


# With a pause pending (given on the call), what differs from the table above.
WHILE_PENDING = {
    (S.RINGING, "Unpaused"): (S.RINGING, None, None),  # cancelled
    (S.TALKING, "Unpaused"): (S.TALKING, None, None),
    (S.WRAP_UP, "Unpaused"): (S.WRAP_UP, None, None),
    (S.RINGING, "Answered"): (S.TALKING, None, "会议"),  # still pending on the call
    (S.TALKING, "CallEnded"): (S.WRAP_UP, None, "会议"),  # the wrap-up first: the outcome
    (S.RINGING, "CallEnded"): (S.PAUSED, "会议", None),  # missed: paused at once
    (S.WRAP_UP, "WrapUpDone"): (S.PAUSED, "会议", None),  # by the agent or the deadline
    (S.RINGING, "Paused"): (S.RINGING, None, "午饭"),  # another reason
    (S.TALKING, "Paused"): (S.TALKING, None, "午饭"),
    (S.WRAP_UP, "Paused"): (S.PAUSED, "午饭", None),  # a pause in the wrap-up: at once
    **{(state, "LoggedOut"): (S.LOGGED_OUT, None, None) for state in BUSY},
}


@pytest.mark.parametrize(("state", "name"), sorted(WHILE_PENDING))
def test_a_pending_pause(state: S, name: str) -> None:
    before = dataclasses.replace(agent_in(state), pending_pause="会议")
    after = apply(before, INPUTS[name], 200.0)
    assert (after.state, after.reason, after.pending_pause) == WHILE_PENDING[(state, name)]


@pytest.mark.parametrize("state", [S.RINGING, S.TALKING, S.WRAP_UP])
def test_an_unpause_on_a_call_with_nothing_pending_is_refused(state: S) -> None:
    with pytest.raises(IllegalTransition, match="Unpaused not allowed"):
        apply(agent_in(state), Unpaused(), 200.0)


def test_a_paused_agent_who_takes_a_call_over_has_its_pause_pending() -> None:
    """Asterisk keeps the member paused: the pause comes back after that call."""
    after = apply(agent_in(S.PAUSED), TookOver("L9"), 200.0)
    assert (after.state, after.call_id, after.pending_pause) == (S.TALKING, "L9", "培训")


@pytest.mark.parametrize("found", [FoundTalking("L1", "会议"), FoundWrappingUp("L1", 2.0, "会议")])
def test_the_resync_finds_a_pause_pending(found: PresenceInput) -> None:
    after = apply(agent_in(S.AVAILABLE), found, 200.0)
    assert after.pending_pause == "会议"


def _through(day: list[PresenceInput]) -> AgentPresence:
    """A logged-out agent after each input of `day`, one a second."""
    agent = AgentPresence.logged_out("1001", "王芳", 0.0)
    for at, event in enumerate(day, start=1):
        agent = apply(agent, event, float(at))
    return agent


def test_a_pause_given_while_talking_holds_after_the_wrap_up() -> None:
    day: list[PresenceInput] = [LoggedIn(), Ringing("L7"), Answered("L7"), Paused("会议"),
                                CallEnded("L7"), WrapUpDone()]  # fmt: skip
    assert _through(day) == AgentPresence("1001", "王芳", S.PAUSED, "会议", 6.0, None)


def test_a_whole_call_from_login_to_logout() -> None:
    day: list[PresenceInput] = [LoggedIn(), Ringing("L7"), Answered("L7"), CallEnded("L7"),
                                Paused("小结"), Unpaused(), Ringing("L8"), CallEnded("L8"),
                                LoggedOut()]  # fmt: skip
    assert _through(day) == AgentPresence("1001", "王芳", S.LOGGED_OUT, None, 9.0, None)


@pytest.mark.parametrize(
    ("state", "event"),
    [(S.RINGING, Answered("L2")), (S.RINGING, CallEnded("L2")), (S.TALKING, CallEnded("L2"))],
)
def test_events_of_another_call_are_refused(state: S, event: PresenceInput) -> None:
    with pytest.raises(IllegalTransition, match="L2 is not the agent's call L1"):
        apply(agent_in(state), event, 1.0)


def test_presence_message_is_what_desktops_receive() -> None:
    message = agent_in(S.PAUSED).to_message().model_dump(mode="json")
    assert message == {
        "type": "presence",
        "extension": "1001",
        "name": "王芳",
        "state": "paused",
        "reason": "培训",
        "since": 100.0,
        "call_id": None,
        "pending_pause": None,
    }
