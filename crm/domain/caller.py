"""What the CRM tells an agent about a caller whose call is ringing (pure, no I/O).

The CRM decides it (crm.usecases.call_order.caller_summary), so the desk only shows it and
cannot disagree with the CRM about which orders are open or who asked for confidentiality.
"""

from dataclasses import dataclass
from typing import Any

MAX_CALLER_NAME = 100  # the longest caller name an order keeps


@dataclass(frozen=True)
class CallerSummary:
    """A caller's earlier orders as the screen pop lists them (JSON-ready, newest first).

    `history`: their newest orders; `open_orders`: those still open, however old (up to a
    limit); `confidential`: they asked for confidentiality on any earlier order.
    """

    history: tuple[dict[str, Any], ...]
    open_orders: tuple[dict[str, Any], ...]
    confidential: bool


# A call without a caller number: no orders of theirs to list, no number to hide.
NO_NUMBER = CallerSummary(history=(), open_orders=(), confidential=False)
