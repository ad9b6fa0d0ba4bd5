"""The welcome menu's decisions as pure functions: key → choice, choice → queue."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ivr.sanitize import check_dialplan_token


class Label(StrEnum):
    """ASCII codes for the menu choices, set on the channel as ``HOTLINE_IVR_LABEL``."""

    CONSULT = "consult"  # 咨询
    COMPLAINT = "complaint"  # 投诉举报
    HELP = "help"  # 求助
    OPERATOR = "operator"  # 人工服务


MENU_KEYS: Mapping[str, Label] = {
    "1": Label.CONSULT,
    "2": Label.COMPLAINT,
    "3": Label.HELP,
    "0": Label.OPERATOR,
}
DEFAULT_QUEUE = "hotline"


@dataclass(frozen=True)
class Choice:
    """What the caller chose: ``digit`` is the key pressed, ``""`` when none counted."""

    digit: str
    label: Label


def choose(key: str | None, *, replays_left: int) -> Choice | None:
    """Decide on one answer to the menu; ``None`` means: replay the menu.

    No key (timeout) goes to the operator at once. A key that is not on the menu is worth a
    replay while ``replays_left`` > 0; after that the caller goes to the operator too.
    """
    if not key:
        return Choice("", Label.OPERATOR)
    label = MENU_KEYS.get(key)
    if label is not None:
        return Choice(key, label)
    if replays_left > 0:
        return None
    return Choice("", Label.OPERATOR)


def queue_map(
    overrides: Mapping[str, str] | None = None, default: str = DEFAULT_QUEUE
) -> dict[Label, str]:
    """Queue name per label: ``default`` for all, replaced by ``overrides`` (label → queue).

    Raises ``ValueError`` for an unknown label or a queue name unsafe in ``Queue(${…})``.
    """
    queues = dict.fromkeys(Label, check_dialplan_token(default))
    for label, queue in (overrides or {}).items():
        try:
            known = Label(label)
        except ValueError:
            raise ValueError(
                f"unknown IVR label {label!r}; known: {list(map(str, Label))}"
            ) from None
        queues[known] = check_dialplan_token(queue)
    return queues
