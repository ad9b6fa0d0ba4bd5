"""Alerts about the centre itself, not about an order: a trunk leg (an emergency line's or the
outbound trunk's) that stops
answering qualify (SIP OPTIONS) and the notice that it answers again. Named by their subject
(the leg's AOR, trunk-110-primary), with the line and leg in their detail. Pure: the kinds,
the Chinese text a desk shows, and whether one is worth raising given the last one raised
for its subject (a leg found down again after a restart, still down, is not told twice)."""

from collections.abc import Mapping
from typing import Any

from crm.domain.enums import AlertKind

CENTRE_KINDS = frozenset({AlertKind.TRUNK_DOWN, AlertKind.TRUNK_UP})
LEG_LABELS = {"primary": "主用", "backup": "备用"}
# the outbound trunk's line (config.trunk_settings.OUTBOUND_LINE: pure cores import no settings)
OUTBOUND_LINE = "outbound"
LINE_LABELS = {OUTBOUND_LINE: "外呼"}  # the emergency lines are shown by their number


def centre_message(kind: AlertKind, detail: Mapping[str, Any]) -> str:
    line = str(detail.get("line", ""))
    shown = LINE_LABELS.get(line, line)
    leg = LEG_LABELS.get(str(detail.get("leg", "")), str(detail.get("leg", "")))
    if kind is AlertKind.TRUNK_DOWN:
        skipped = "回访外呼" if line == OUTBOUND_LINE else "紧急转接"
        return f"{shown} {leg}中继线路无应答（探测失败），{skipped}将跳过该线路"
    return f"{shown} {leg}中继线路已恢复应答"


def worth_raising(kind: AlertKind, last: AlertKind | None) -> bool:
    """A down once per down transition; a back-again only after a down was told."""
    if kind is AlertKind.TRUNK_DOWN:
        return last is not AlertKind.TRUNK_DOWN
    return last is AlertKind.TRUNK_DOWN
