"""extensions.conf's queue-position whispers: the announcer's half of each (the position's
Mandarin sentence, the estimated wait, the callback's offer), out of `extensions_config`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.settings import Settings
from telephony.config_sections import section
from telephony.dialplan import (
    CALLBACK_OFFER_PROMPT,
    CONTEXT_POSITION,
    CONTEXT_WAIT,
    VAR_OFFER,
    VAR_WAIT,
)
from telephony.position_words import LAST_SAID_POSITION, position_words
from telephony.wait_words import wait_sentences

if TYPE_CHECKING:
    from telephony.asterisk_config import Layout


def _offer(settings: Settings) -> str:
    """The prompt offering the callback key after a position (VAR_OFFER set), "" for none."""
    return "" if settings.outbound is None else f"{CALLBACK_OFFER_PROMPT}{settings.callback.key}"


def position_contexts(settings: Settings, layout: Layout) -> str:
    """The announcer's half of a position whisper (extension = position): the Mandarin
    sentence of `position_words`, one extension per position said exactly, 很多位 beyond.
    The short wait lets ChanSpy attach to the caller before the first word. The estimated
    wait follows when the announcer set one (`VAR_WAIT`: an extension of `CONTEXT_WAIT`; no
    DIALPLAN_EXISTS, func_dialplan is not among the modules loaded); then the callback's
    offer, when the announcer set `VAR_OFFER`."""
    offer = _offer(settings)
    prompts = "${POSITION_PROMPTS}"
    wait = f"{CONTEXT_WAIT},${{{VAR_WAIT}}},1"
    wait_set = f'"${{{VAR_WAIT}}}" != ""'  # a key it lacks would just end the whisper
    end = (
        f' same => n,ExecIf($["${{{VAR_OFFER}}}" != ""]?Playback({prompts}/{offer}))\n'
        if offer else ""
    ) + " same => n,Hangup()"  # fmt: skip

    def files(words: tuple[str, ...]) -> str:
        return "&".join(f"{prompts}/{w}" for w in words)

    def say(words: tuple[str, ...]) -> str:
        return f"Gosub(say,1({files(words)}))"

    return (
        section("globals", f"POSITION_PROMPTS={layout.prompts}")
        + section(
            CONTEXT_POSITION,
            *(f"exten => {p},1,{say(position_words(p))}" for p in range(1, LAST_SAID_POSITION + 1)),
            # Four digits or more (LAST_SAID_POSITION is 999): no overlap with the ones above.
            f"exten => _[1-9]XXX!,1,{say(position_words(LAST_SAID_POSITION + 1))}",
            "exten => say,1,Answer()",
            " same => n,Wait(0.3)",
            " same => n,Playback(${ARG1})",
            f" same => n,GotoIf($[{wait_set}]?{wait})",
            end,
        )
        + section(
            CONTEXT_WAIT,
            *(
                f"exten => {key},1,Playback({files(words)})\n{end}"
                for key, words in wait_sentences().items()
            ),
        )
    )
