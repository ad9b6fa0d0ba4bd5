"""The satisfaction survey (满意度评价) a caller hears after the agent hung up.

The dialplan sends here the callers whose agent ended the call (Queue's ``c`` option); the
wiring root's ``offer`` may still say no (a call that reached 110/119/120 is theirs now, not
ours to rate). Once offered, ``HOTLINE_SURVEY`` is ``no_answer`` at once, so a caller who
hangs up or lets it time out is on record as offered and not answering; a key 1/2/3 replaces
it by the answer. An invalid key replays the question (``retries`` times), then ends as no
answer. The answer reaches the call record (and its order, where the rules allow) through the
call tracker's VarSet, as the menu choice does.
"""

import logging
from collections.abc import Callable
from pathlib import Path

from ivr.playback import play
from ivr.prompts import GOODBYE, INVALID, SURVEY, SURVEY_THANKS
from ivr.sanitize import DTMF_KEYS
from ivr.session import AgiSession
from telephony.dialplan import SURVEY_ANSWERS, SURVEY_NO_ANSWER, VAR_SURVEY

log = logging.getLogger(__name__)

SURVEY_KEYS = dict(zip("123", SURVEY_ANSWERS, strict=True))
_ANY_KEY = "".join(sorted(DTMF_KEYS))

Offer = Callable[[str], bool]
"""(the caller's channel uniqueid, which is the call's Linkedid) → whether it gets the survey."""


def _offer_all(uniqueid: str) -> bool:
    return True


def answer_of(key: str | None, *, retries_left: int) -> str | None:
    """One reply to the question: the answer code, SURVEY_NO_ANSWER, or None (ask again).

    No key (timeout) ends the survey; an unknown key is worth a replay while `retries_left`."""
    if not key:
        return SURVEY_NO_ANSWER
    answer = SURVEY_KEYS.get(key)
    if answer is not None:
        return answer
    return None if retries_left > 0 else SURVEY_NO_ANSWER


class SurveyFlow:
    """Ask once (interruptible), wait `answer_timeout_ms` for a key, thank the caller."""

    def __init__(
        self,
        prompt_dir: Path,
        *,
        offer: Offer = _offer_all,
        answer_timeout_ms: int = 5000,
        retries: int = 1,
    ) -> None:
        self._survey = str(prompt_dir / SURVEY)
        self._invalid = str(prompt_dir / INVALID)
        self._thanks = str(prompt_dir / SURVEY_THANKS)
        self._goodbye = str(prompt_dir / GOODBYE)
        self._offer = offer
        self._timeout_ms = answer_timeout_ms
        self._retries = retries

    async def __call__(self, session: AgiSession) -> None:
        uniqueid = session.variables.get("agi_uniqueid", "")
        if not self._offer(uniqueid):
            log.info("survey %r: not offered", uniqueid)
            return  # the dialplan hangs up
        await session.set_variable(VAR_SURVEY, SURVEY_NO_ANSWER)
        retries_left = self._retries
        while (answer := answer_of(await self._ask(session), retries_left=retries_left)) is None:
            retries_left -= 1
            await play(session, self._invalid)
        if answer != SURVEY_NO_ANSWER:
            await session.set_variable(VAR_SURVEY, answer)
        log.info("survey %r: %s", uniqueid, answer)
        await play(session, self._goodbye if answer == SURVEY_NO_ANSWER else self._thanks)

    async def _ask(self, session: AgiSession) -> str | None:
        key = await play(session, self._survey, _ANY_KEY)
        return key or await session.wait_for_digit(self._timeout_ms)
