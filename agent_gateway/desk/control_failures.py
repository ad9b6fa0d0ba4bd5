"""What an agent reads when a call-control command fails: the control adapter's reason
(`ControlFailed.message`, English, for the logs) in Chinese.

The adapter's reasons are a fixed set of phrases (a few carry the target or what was being
confirmed); each has its Chinese here, and a reason not known here still reads in Chinese, as
its code's text, never as the adapter's English.
"""

from __future__ import annotations

from telephony.call_control import ControlCode

_PHRASES = {
    "already held or consulting": "通话已在保持或转接中",
    "not on hold": "通话未处于保持状态",
    "the agent is not with the caller": "坐席当前不在与来电人的通话中",
    "a consult is in progress": "已有进行中的转接",
    "resume the call first": "请先恢复通话",
    "the third party has not answered": "第三方尚未接听",
    "not a three-party call": "当前不是三方通话",
    "the call is not talking with an agent": "该通话未与坐席接通",
    "another command is in progress": "上一个操作尚未完成，请稍候",
    "the agent has left the call": "坐席已离开该通话",
    "no consult in progress": "没有进行中的转接",
    "the agent's leg is not bridged yet": "坐席话路尚未接入会议",
    "the consult is gone": "转接已结束",
}
# Reasons of the form "<what>: <why>" (the step being confirmed) and "<prefix><detail>".
_AFTER_COLON = {
    "the call ended": "通话已结束",
    "Asterisk did not confirm it in time": "交换机未在规定时间内确认",
}
_CODE_TEXT = {
    ControlCode.NOT_CONFIRMED: "交换机未确认该操作",
    ControlCode.NOT_NOW: "当前通话状态下不可执行",
    ControlCode.NO_CONSULT: "没有可操作的转接",
    ControlCode.BAD_TARGET: "转接对象无效",
    ControlCode.BUSY: "对方忙",
    ControlCode.NO_ANSWER: "对方无人接听",
    ControlCode.ALL_TRUNKS_DOWN: "主用、备用线路均不可用",
    ControlCode.UNAVAILABLE: "对方无法接通",
    ControlCode.HUNG_UP: "对方已挂机",
}


def failure_text(code: ControlCode, message: str, target: str = "") -> str:
    """The Chinese of the adapter's failure `message` (with `code`); `target`: the number the
    command consulted, if any."""
    if message in _PHRASES:
        return _PHRASES[message]
    if message.startswith("Asterisk refused:"):
        return "交换机拒绝执行该操作"
    if message.startswith("cannot consult "):
        return f"无法转接到 {target}" if target else _code_text(code)
    if target and message == f"{target} failed":
        return f"转接 {target} 失败：{_code_text(code)}"
    why = message.rsplit(": ", 1)[-1]
    return _AFTER_COLON.get(why) or _code_text(code)


def _code_text(code: ControlCode) -> str:
    return _CODE_TEXT.get(code, "操作未能完成")
