"""Calling a citizen out (回访): the Originate through the outbound context, and a number that
is no number refused before anything reaches Asterisk, the number never logged."""

from __future__ import annotations

import logging

import pytest

from telephony.actions import call_out
from tests.unit.test_actions_transfer import ScriptedAmi

NUMBER = "13911112222"


async def test_the_citizen_is_dialled_through_the_outbound_context(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ami = ScriptedAmi()
    caplog.set_level(logging.DEBUG)
    await call_out(ami, NUMBER, "hotline-agents", "1001", "out-1", timeout_s=15)
    assert ami.sent == [("Originate", {
        "Channel": f"Local/{NUMBER}@hotline-outbound/n", "Context": "hotline-agents",
        "Exten": "1001", "Priority": "1", "Timeout": "15000", "Async": "true",
        "ChannelId": "out-1", "OtherChannelId": "out-1-2",
    })]  # fmt: skip
    assert "out-1" in caplog.text and NUMBER not in caplog.text


@pytest.mark.parametrize("number", ["", "12", "1391111@evil", "139/n", "1391111222233334444555"])
async def test_what_is_no_number_is_refused_unsent_and_unsaid(number: str) -> None:
    ami = ScriptedAmi()
    with pytest.raises(ValueError, match="3 to 20 digits") as refused:
        await call_out(ami, number, "hotline-agents", "1001", "out-1", timeout_s=15)
    assert ami.sent == [] and (not number or number not in str(refused.value))
