"""A blind transfer asked for the moment a call is talking: Asterisk's "Transfer invalid" for
a leg not yet in its bridge is retried until the bridge settles, any other error is not."""

from __future__ import annotations

import pytest

from telephony.actions import blind_transfer
from telephony.ami_connection import AmiActionError


class ScriptedAmi:
    """Answers each action with the next scripted error, then Success."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        self.sent.append((name, headers))
        if self.errors:
            raise AmiActionError(name, {"Response": "Error", "Message": self.errors.pop(0)})
        return {"Response": "Success"}


TRANSFER = ("BlindTransfer", {"Channel": "PJSIP/1001-00000001", "Context": "ctx", "Exten": "110"})


async def test_a_leg_not_yet_bridged_is_transferred_once_it_is() -> None:
    ami = ScriptedAmi("Transfer invalid", "Transfer invalid")
    await blind_transfer(ami, "PJSIP/1001-00000001", "ctx", "110")
    assert ami.sent == [TRANSFER] * 3


async def test_a_leg_that_never_bridges_fails_after_the_settling_time() -> None:
    ami = ScriptedAmi(*["Transfer invalid"] * 100)
    with pytest.raises(AmiActionError, match="Transfer invalid"):
        await blind_transfer(ami, "PJSIP/1001-00000001", "ctx", "110", settle_s=0.2)
    assert 2 <= len(ami.sent) <= 10


async def test_other_errors_are_not_retried() -> None:
    ami = ScriptedAmi("No such channel")
    with pytest.raises(AmiActionError, match="No such channel"):
        await blind_transfer(ami, "PJSIP/1001-00000001", "ctx", "110")
    assert ami.sent == [TRANSFER]
