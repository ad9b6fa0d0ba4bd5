"""Calling a citizen out (回访): the agent's phone rung first, then the citizen through the
outbound context; a number that is no number refused before anything reaches Asterisk, the
number never logged."""

from __future__ import annotations

import logging

import pytest

from telephony.actions import call_out
from tests.unit.test_actions_transfer import ScriptedAmi

NUMBER = "13911112222"


async def test_the_agents_phone_rings_first_then_dials_the_citizen_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ami = ScriptedAmi()
    caplog.set_level(logging.DEBUG)
    await call_out(ami, NUMBER, "1001", "out-1", 15, "回访 <12345>", "20261202/out-1.wav")
    assert ami.sent == [("Originate", {
        "Channel": "PJSIP/1001", "Context": "hotline-revisit", "Exten": NUMBER,
        "Priority": "1", "Timeout": "15000", "Async": "true", "ChannelId": "out-1",
        "CallerID": "回访 <12345>", "Variable": "HOTLINE_REVISIT_RECORDING=20261202/out-1.wav",
    })]  # fmt: skip
    assert "out-1" in caplog.text and NUMBER not in caplog.text


@pytest.mark.parametrize("number", ["", "12", "1391111@evil", "139/n", "1391111222233334444555"])
async def test_what_is_no_number_is_refused_unsent_and_unsaid(number: str) -> None:
    ami = ScriptedAmi()
    with pytest.raises(ValueError, match="3 to 20 digits") as refused:
        await call_out(ami, number, "1001", "out-1", 15, "回访")
    assert ami.sent == [] and (not number or number not in str(refused.value))
