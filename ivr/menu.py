"""The welcome menu's decisions as pure functions: key → choice, choice → queue.

A caller who presses nothing at all goes to the operator at the end of the first menu (the
8 s goal: a caller who cannot or will not use keys reaches a person fast). Once the caller
has pressed a key, an invalid key or a timeout replays the menu, at most ``MAX_REPLAYS``
times; after that the operator.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ivr.sanitize import check_dialplan_token


class Label(StrEnum):
    """ASCII codes for the menu choices, set on the channel as ``HOTLINE_IVR_LABEL``."""

    CONSULT = "consult"  # 咨询
    COMPLAINT = "complaint"  # 投诉举报
    HELP = "help"  # 求助/意见建议
    OPERATOR = "operator"  # 人工服务
    EMERGENCY = "emergency"  # 紧急情况: straight to 110, never queued


QUEUED_LABELS = (Label.CONSULT, Label.COMPLAINT, Label.HELP, Label.OPERATOR)
"""The labels that lead to a queue (all but EMERGENCY)."""

MENU_KEYS: Mapping[str, Label] = {
    "1": Label.CONSULT,
    "2": Label.COMPLAINT,
    "3": Label.HELP,
    "0": Label.OPERATOR,
}
EMERGENCY_KEY = "9"
DEFAULT_QUEUE = "hotline"
MAX_REPLAYS = 2


def keys_on_offer(*, emergency: bool) -> Mapping[str, Label]:
    """The menu's keys; 9 only when there is an emergency line to send the caller to."""
    return {**MENU_KEYS, EMERGENCY_KEY: Label.EMERGENCY} if emergency else MENU_KEYS


@dataclass(frozen=True)
class Choice:
    """What the caller chose: ``digit`` is the key pressed, ``""`` when none counted."""

    digit: str
    label: Label


@dataclass(frozen=True)
class Attempt:
    """Where the caller is in the menu: how often it was replayed, whether a key came yet."""

    replays: int = 0
    pressed: bool = False

    def again(self, key: str | None) -> "Attempt":
        return Attempt(self.replays + 1, self.pressed or bool(key))


def choose(
    key: str | None,
    attempt: Attempt = Attempt(),
    keys: Mapping[str, Label] = MENU_KEYS,
    max_replays: int = MAX_REPLAYS,
) -> Choice | None:
    """Decide on one answer to the menu (``key``: one DTMF key, ``None``/``""`` for a
    timeout); ``None`` means: replay the menu.
    """
    label = keys.get(key or "")
    if label is not None:
        return Choice(key or "", label)
    silent = not key and not attempt.pressed
    if silent or attempt.replays >= max_replays:
        return Choice("", Label.OPERATOR)
    return None


def queue_map(
    overrides: Mapping[str, str] | None = None, default: str = DEFAULT_QUEUE
) -> dict[Label, str]:
    """Queue name per queued label: ``default`` for all, replaced by ``overrides``.

    Raises ``ValueError`` for an unknown label or a queue name unsafe in ``Queue(${…})``.
    """
    queues = dict.fromkeys(QUEUED_LABELS, check_dialplan_token(default))
    for label, queue in (overrides or {}).items():
        known = next((queued for queued in QUEUED_LABELS if queued == label), None)
        if known is None:
            raise ValueError(f"unknown IVR label {label!r}; known: {list(map(str, QUEUED_LABELS))}")
        queues[known] = check_dialplan_token(queue)
    return queues
