"""The prompts of the callback keeping the caller's place (回拨保留排队位置), by name: the
offer after a position announcement (one per key a centre may choose), what the caller hears
when the request is taken or refused, and what the agent hears if the citizen is not reached."""

from collections.abc import Mapping

from telephony.dialplan import CALLBACK_KEYS, CALLBACK_OFFER_PROMPT, CALLBACK_UNREACHED_PROMPT

CALLBACK_PLACED = "hotline-callback-placed"
CALLBACK_REFUSED = "hotline-callback-refused"
_DIGITS = "一二三四五六七八九"

CALLBACK_PROMPTS: Mapping[str, str] = {
    **{
        f"{CALLBACK_OFFER_PROMPT}{k}": f"如需回拨，请按{_DIGITS[int(k) - 1]}。"
        for k in CALLBACK_KEYS
    },
    CALLBACK_PLACED: "您已成功预约回拨，轮到您时我们将回拨您的来电号码，请挂机。",
    # a withheld or undiallable number, or a request that could not be stored: back in line
    CALLBACK_REFUSED: "无法为您预约回拨，请继续等待。",
    CALLBACK_UNREACHED_PROMPT: "回拨未接通，本次回拨结束。",
}
