"""Every (state, input) pair of the agent presence machine, legal and illegal."""

from __future__ import annotations

import itertools

import pytest

from agent_gateway.desk.presence import (
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
    assert (after.state, after.since, after.extension, after.name) == (
        expected, 200.0, "1001", "王芳"
    )
    assert after.reason == ("午饭" if expected is S.PAUSED else None)
    assert after.call_id == ("L1" if expected in (S.RINGING, S.TALKING, S.WRAP_UP) else None)


def test_a_whole_call_from_login_to_logout() -> None:
    agent = AgentPresence.logged_out("1001", "王芳", 0.0)
    day: list[PresenceInput] = [LoggedIn(), Ringing("L7"), Answered("L7"), CallEnded("L7"),
                                Paused("小结"), Unpaused(), Ringing("L8"), CallEnded("L8"),
                                LoggedOut()]
    for at, event in enumerate(day, start=1):
        agent = apply(agent, event, float(at))
    assert agent == AgentPresence("1001", "王芳", S.LOGGED_OUT, None, 9.0, None)


@pytest.mark.parametrize(("state", "event"), [(S.RINGING, Answered("L2")),
                                              (S.RINGING, CallEnded("L2")),
                                              (S.TALKING, CallEnded("L2"))])
def test_events_of_another_call_are_refused(state: S, event: PresenceInput) -> None:
    with pytest.raises(IllegalTransition, match="L2 is not the agent's call L1"):
        apply(agent_in(state), event, 1.0)


def test_presence_message_is_what_desktops_receive() -> None:
    message = agent_in(S.PAUSED).to_message().model_dump(mode="json")
    assert message == {"type": "presence", "extension": "1001", "name": "王芳",
                       "state": "paused", "reason": "培训", "since": 100.0, "call_id": None}
