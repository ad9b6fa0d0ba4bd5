"""What the backend does by itself when a controlled call changes (pure decision)."""

from __future__ import annotations

import dataclasses

from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
)
from telephony.control_reactions import Reaction, reaction

L = "1700000000.1"
WITH_CALLER = ControlState(L, conference=True, agent_channel="PJSIP/1001-2",
                           caller_channel="PJSIP/carrier-1", agent_room=Room.MAIN)  # fmt: skip
RINGING = Consult("110", TargetKind.EMERGENCY, "110", ConsultMode.HOLD, ConsultState.RINGING,
                  "", 1.0)  # fmt: skip


def test_an_agent_hanging_up_alone_with_the_caller_ends_the_call() -> None:
    gone = dataclasses.replace(WITH_CALLER, agent_in_call=False, agent_room=Room.NONE)
    assert reaction(WITH_CALLER, gone) is Reaction.END_CALL


def test_an_agent_leaving_caller_and_third_party_together_ends_nothing() -> None:
    party = dataclasses.replace(RINGING, state=ConsultState.THREE_WAY, party_room=Room.MAIN)
    three = dataclasses.replace(WITH_CALLER, consult=party)
    gone = dataclasses.replace(three, agent_in_call=False, agent_room=Room.NONE)
    assert reaction(three, gone) is None


def test_a_consult_failing_while_the_agent_waits_brings_the_agent_back_once() -> None:
    waiting = dataclasses.replace(WITH_CALLER, agent_room=Room.CONSULT, held=True,
                                  consult=RINGING)  # fmt: skip
    failed = dataclasses.replace(
        waiting, consult=dataclasses.replace(RINGING, state=ConsultState.FAILED, reason="busy")
    )
    assert reaction(waiting, failed) is Reaction.AGENT_BACK
    assert reaction(failed, failed) is None  # already failed: nothing again
    in_main = dataclasses.replace(failed, agent_room=Room.MAIN)
    assert reaction(dataclasses.replace(waiting, agent_room=Room.MAIN), in_main) is None
