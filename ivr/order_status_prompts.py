"""The order-status self-service's Mandarin prompts (key 8): names and texts, pure.

Dates are whole words (十月, 九日): 12 month and 31 day prompts said as callers say them, so
a deadline needs no syllable-by-syllable number and no sound Asterisk lacks (it ships no
Mandarin digits here); like the queue positions' syllables they are built with their trailing
silence cut (hotline_cli/sounds.py), the sentences with the other prompts (ivr/prompts.py).
A handling unit's name is synthesised on demand (ivr/order_status.py).
"""

from collections.abc import Mapping

OWN_BEFORE = "hotline-os-own"
OWN_MENU = "hotline-os-own-menu"
ASK_ORDER = "hotline-os-ask-order"
ASK_PHONE = "hotline-os-ask-phone"
INVALID_ENTRY = "hotline-os-invalid"
NOT_MATCHED = "hotline-os-not-matched"
UNIT = "hotline-os-unit"
DUE = "hotline-os-due"
END_MENU = "hotline-os-end"
UNIT_PREFIX = "hotline-os-unit-"  # + a digest of the unit's name: made at the first call

STAGE_PROMPTS: Mapping[str, tuple[str, str]] = {
    # stage (ivr.order_status_rules.Stage) -> (prompt name, text)
    "received": ("hotline-os-received", "您的工单已受理，正在分派承办单位。"),
    "handling": ("hotline-os-handling", "您的工单正在办理中。"),
    "replied": ("hotline-os-replied", "您的工单承办单位已答复，等待回访。"),
    "closed": ("hotline-os-closed", "您的工单已办结。"),
    "not_accepted": ("hotline-os-not-accepted", "您的工单不予受理，详情请咨询人工服务。"),
    "answered": ("hotline-os-answered", "您的诉求已直接答复。"),
    "transferred": ("hotline-os-transferred", "您的工单已移交相关部门处理。"),
}

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 as said: 九, 十, 十二, 二十, 三十一."""
    if not 1 <= n <= 99:
        raise ValueError(f"{n} is not from 1 to 99")
    tens, units = divmod(n, 10)
    said = ("" if tens < 2 else _DIGITS[tens]) + ("十" if tens else "")
    return said + (_DIGITS[units] if units else "")


def month_prompt(month: int) -> str:
    return f"hotline-os-month-{month}"


def day_prompt(day: int) -> str:
    return f"hotline-os-day-{day}"


ORDER_STATUS_PROMPTS: Mapping[str, str] = {
    OWN_MENU: "登记的工单尚未办结。收听按一，查其他工单按二，人工服务按零。",
    ASK_ORDER: "请输入十四位工单编号，按井号结束；重输按星号，人工服务按零。",
    ASK_PHONE: "请输入登记的电话号码，固话加区号，按井号结束。",
    INVALID_ENTRY: "输入有误，请重新输入。",
    NOT_MATCHED: "工单编号或电话号码不正确。",
    UNIT: "承办单位是",
    DUE: "办理期限为",
    END_MENU: "重听按一，查其他工单按二，人工服务按零。",
    **dict(STAGE_PROMPTS.values()),
}
DATE_PROMPTS: Mapping[str, str] = {
    # pieces said back to back (您于 十二月 二日 …): built with prompts.CLIP_END
    OWN_BEFORE: "您于",
    **{month_prompt(m): chinese_number(m) + "月" for m in range(1, 13)},
    **{day_prompt(d): chinese_number(d) + "日" for d in range(1, 32)},
}
