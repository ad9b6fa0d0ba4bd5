"""Alerts about the centre itself, not about an order: a trunk leg (an emergency line's or the
outbound trunk's) that stops answering qualify (SIP OPTIONS) and the notice that it answers
again (or is no longer followed). Named by their subject (the leg's AOR, trunk-110-primary),
with the line and leg in their detail. Pure: the kinds, the Chinese text a desk shows, and
whether one is worth raising given the last one raised for its subject (a leg found down
again after a restart, still down, is not told twice)."""

from collections.abc import Mapping
from typing import Any

from crm.domain.enums import AlertKind
from crm.domain.enums import TransferTarget as T

CENTRE_KINDS = frozenset({AlertKind.TRUNK_DOWN, AlertKind.TRUNK_UP})
LEG_LABELS = {"primary": "主用", "backup": "备用"}
# the outbound trunk's line (config.trunk_settings.OUTBOUND_LINE: pure cores import no settings)
OUTBOUND_LINE = "outbound"
LINE_LABELS = {OUTBOUND_LINE: "外呼"}  # the emergency lines are shown by their number


# the lines an emergency transfer dials
EMERGENCY_LINES = frozenset(t.value for t in (T.POLICE_110, T.FIRE_119, T.MEDICAL_120))


def centre_message(kind: AlertKind, detail: Mapping[str, Any]) -> str:
    """A down says the emergency transfer skips the leg only on 110/119/120 (not on 96119 or
    the outbound line); an up marked `stopped` closes a down of a leg no longer followed."""
    line = str(detail.get("line", ""))
    shown = LINE_LABELS.get(line, line)
    leg = LEG_LABELS.get(str(detail.get("leg", "")), str(detail.get("leg", "")))
    if kind is AlertKind.TRUNK_DOWN:
        skipped = {OUTBOUND_LINE: "，回访外呼将跳过该线路"}.get(
            line, "，紧急转接将跳过该线路" if line in EMERGENCY_LINES else ""
        )
        return f"{shown} {leg}中继线路无应答（探测失败）{skipped}"
    if detail.get("stopped"):
        return f"{shown} {leg}中继线路已移除或停止探测，告警关闭"
    return f"{shown} {leg}中继线路已恢复应答"


def worth_raising(kind: AlertKind, last: AlertKind | None) -> bool:
    """A down once per down transition; a back-again only after a down was told."""
    if kind is AlertKind.TRUNK_DOWN:
        return last is not AlertKind.TRUNK_DOWN
    return last is AlertKind.TRUNK_DOWN
