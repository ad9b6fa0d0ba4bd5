"""The units' dialler's line over an AMI that fails: a hang-up that could not be sent is a
warning (only a channel already gone is not), an Originate unanswered may still have been
placed and says so."""

from __future__ import annotations

import logging

import pytest

from crm.errors import Unavailable
from hotline_cli.unit_dialler import AmiLine
from telephony.ami_connection import AmiActionError, AmiConnectionLost


class FailingAmi:
    """Raises `error` for every action."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        raise self.error


@pytest.mark.parametrize("error", [TimeoutError(), AmiConnectionLost("gone")])
async def test_a_hang_up_not_sent_is_a_warning(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "hotline_cli.unit_dialler")
    await AmiLine(FailingAmi(error), 30).hang_up("1.2")
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "1.2 not hung up" in caplog.text


async def test_a_call_already_over_is_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "hotline_cli.unit_dialler")
    gone = AmiActionError("Hangup", {"Response": "Error", "Message": "No such channel"})
    await AmiLine(FailingAmi(gone), 30).hang_up("1.2")
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


async def test_an_originate_unanswered_may_have_been_placed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = AmiLine(FailingAmi(TimeoutError()), 30)
    with pytest.raises(Unavailable) as refused:
        await line.call_out("13911112222", "8101", "1.2", "首次联系 <1>", "")
    assert "可能已发出" in refused.value.message
    assert "may have been placed" in caplog.text and "13911112222" not in caplog.text
