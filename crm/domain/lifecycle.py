"""The statutory life of a work order as one transition table, with no I/O.

Every change of an order goes through `decide`, which answers "may this actor do this action
to an order in this state, and where does it land?". Keeping the whole table here, as data,
makes the allowed paths reviewable against the regulations in one screen.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from crm.domain.emergency import is_emergency
from crm.domain.enums import (
    CALL_TAKER_ROLES,
    Action,
    Channel,
    NotAcceptedReason,
    OrderType,
    Role,
    Status,
)

_SUPERVISOR = frozenset({Role.SUPERVISOR})
_HANDLER = frozenset({Role.HANDLER})
_PEER = frozenset({Role.PEER})

# (from state, action) -> (to state, roles allowed). Self-loops record work that does not move
# the order (extensions, supervision) but must still be checked and audited.
TRANSITIONS: Mapping[tuple[Status, Action], tuple[Status, frozenset[Role]]] = {
    # intake decisions by the centre
    (Status.REGISTERED, Action.DISPATCH): (Status.DISPATCHED, CALL_TAKER_ROLES),
    (Status.REGISTERED, Action.NOT_ACCEPT): (Status.NOT_ACCEPTED, CALL_TAKER_ROLES),
    (Status.REGISTERED, Action.ANSWER_NOW): (Status.ANSWERED, CALL_TAKER_ROLES),
    (Status.REGISTERED, Action.TRANSFER): (Status.TRANSFERRED, CALL_TAKER_ROLES),
    # the emergency loop: a transferred order stays open until the receiving centre (or a
    # supervisor's recorded decision) confirms the hand-over, and until its result is back
    (Status.TRANSFERRED, Action.HANDOVER_ACCEPTED): (Status.TRANSFERRED, _PEER),
    (Status.TRANSFERRED, Action.HANDOVER_REJECTED): (Status.REGISTERED, _PEER),
    (Status.TRANSFERRED, Action.HANDOVER_DECISION): (Status.TRANSFERRED, _SUPERVISOR),
    (Status.TRANSFERRED, Action.TRANSFER_FEEDBACK): (Status.CLOSED, _PEER | _SUPERVISOR),
    # the handling unit signs for the order or sends it back
    (Status.DISPATCHED, Action.ACCEPT): (Status.ACCEPTED, _HANDLER),
    (Status.DISPATCHED, Action.RETURN): (Status.RETURNED, _HANDLER),
    (Status.RETURNED, Action.DISPATCH): (Status.DISPATCHED, CALL_TAKER_ROLES),
    (Status.RETURNED, Action.TRANSFER): (Status.TRANSFERRED, CALL_TAKER_ROLES),
    (Status.RETURNED, Action.NOT_ACCEPT): (Status.NOT_ACCEPTED, _SUPERVISOR),
    # "2+1": first contact, reply with the result, then the centre's callback
    (Status.ACCEPTED, Action.LOG_CONTACT): (Status.CONTACTED, _HANDLER),
    (Status.CONTACTED, Action.REPLY): (Status.REPLIED, _HANDLER),
    (Status.REPLIED, Action.CALLBACK): (Status.CLOSED, CALL_TAKER_ROLES),
    (Status.REPLIED, Action.REWORK): (Status.REOPENED, CALL_TAKER_ROLES),
    (Status.CLOSED, Action.REOPEN): (Status.REOPENED, _SUPERVISOR),
    (Status.REOPENED, Action.DISPATCH): (Status.DISPATCHED, CALL_TAKER_ROLES),
    # extensions: the unit asks, the centre's supervisor approves or refuses
    (Status.ACCEPTED, Action.REQUEST_EXTENSION): (Status.ACCEPTED, _HANDLER),
    (Status.CONTACTED, Action.REQUEST_EXTENSION): (Status.CONTACTED, _HANDLER),
    (Status.ACCEPTED, Action.DECIDE_EXTENSION): (Status.ACCEPTED, _SUPERVISOR),
    (Status.CONTACTED, Action.DECIDE_EXTENSION): (Status.CONTACTED, _SUPERVISOR),
    # supervision notices (督办) while a unit still owes work
    (Status.DISPATCHED, Action.SUPERVISE): (Status.DISPATCHED, _SUPERVISOR),
    (Status.ACCEPTED, Action.SUPERVISE): (Status.ACCEPTED, _SUPERVISOR),
    (Status.CONTACTED, Action.SUPERVISE): (Status.CONTACTED, _SUPERVISOR),
    (Status.REOPENED, Action.SUPERVISE): (Status.REOPENED, _SUPERVISOR),
}

# Emergencies (and stability clues) go to 110/119/120 or the emergency centre, never to an
# ordinary department or the knowledge base, and are never closed as "not accepted": they
# leave the centre only through a confirmed hand-over.
_NOT_FOR_EMERGENCIES = frozenset({Action.DISPATCH, Action.ANSWER_NOW, Action.NOT_ACCEPT})

# Handler actions are reserved to the lead unit; assisting units only see the order.
_LEAD_UNIT_ACTIONS = frozenset(
    {Action.ACCEPT, Action.RETURN, Action.LOG_CONTACT, Action.REPLY, Action.REQUEST_EXTENSION}
)


class TransitionError(Exception):
    """A refused command; `code` is stable for API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Forbidden(TransitionError):
    """The actor's role or unit may not do this."""


class IllegalTransition(TransitionError):
    """The order is not in a state where this can happen."""


@dataclass(frozen=True)
class OrderFacts:
    status: Status
    order_type: OrderType
    lead_unit_id: int | None
    extension_pending: bool
    stability_clue: bool = False
    handed_over: bool = False  # the hand-over is confirmed (peer's acceptance or a decision)


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    unit_id: int | None


def check_register(actor: Actor, channel: Channel | None = None) -> Status:
    """Orders are born at the centre (call-takers and supervisors), in the registered state;
    a receiving centre (peer) registers only the matters it hands us (channel 110 hand-over)."""
    if actor.role is Role.PEER and channel is Channel.POLICE_HANDOVER:
        return Status.REGISTERED
    if actor.role not in CALL_TAKER_ROLES:
        raise Forbidden("role_forbidden", f"role {actor.role.value} may not register orders")
    return Status.REGISTERED


def check_not_accept_reason(reason: NotAcceptedReason) -> None:
    """A matter of 110/119/120/122 is transferred to that line (the loop tracks it), never
    closed at the centre as not accepted, whatever the order's type."""
    if reason is NotAcceptedReason.EMERGENCY_LINE_MATTER:
        raise IllegalTransition(
            "emergency_must_transfer",
            "a matter of 110/119/120/122 is transferred to that line, not closed as not accepted",
        )


def check_amend_emergency(before: bool, after: bool, actor: Actor) -> None:
    """An emergency order stays one unless a supervisor decides otherwise (audited): an agent
    cannot take it off the 10-minute clock by retyping it."""
    if before and not after and actor.role is not Role.SUPERVISOR:
        raise Forbidden(
            "emergency_amend_forbidden", "only a supervisor may amend an order out of emergency"
        )


def check_amend(status: Status, actor: Actor) -> None:
    """The centre corrects an order's intake details until it is dispatched; after that the
    units work from what they were sent, and changes go through the lifecycle."""
    if actor.role not in CALL_TAKER_ROLES:
        raise Forbidden("role_forbidden", f"role {actor.role.value} may not amend orders")
    if status is not Status.REGISTERED:
        raise IllegalTransition(
            "order_locked", f"an order that is {status.value} can no longer be amended"
        )


def decide(order: OrderFacts, actor: Actor, action: Action) -> Status:
    """Return the state the order moves to, or raise why it may not."""
    entry = TRANSITIONS.get((order.status, action))
    if entry is None:
        raise IllegalTransition(
            "illegal_transition", f"cannot {action.value} an order that is {order.status.value}"
        )
    target, roles = entry
    if actor.role not in roles:
        raise Forbidden("role_forbidden", f"role {actor.role.value} may not {action.value}")
    if action in _LEAD_UNIT_ACTIONS and actor.unit_id != order.lead_unit_id:
        raise Forbidden("not_lead_unit", "only the lead unit's handlers may do this")
    if action in _NOT_FOR_EMERGENCIES and is_emergency(order.order_type, order.stability_clue):
        raise IllegalTransition(
            "emergency_must_transfer",
            f"emergency orders are transferred, not {action.value}: they end only through a "
            "confirmed hand-over",
        )
    if action is Action.TRANSFER_FEEDBACK and not order.handed_over:
        raise IllegalTransition(
            "not_handed_over", "the result comes back only after a confirmed hand-over"
        )
    if action is Action.HANDOVER_DECISION and order.handed_over:
        raise IllegalTransition("already_handed_over", "the hand-over is already confirmed")
    if action is Action.REQUEST_EXTENSION and order.extension_pending:
        raise IllegalTransition("extension_pending", "an extension request is already pending")
    if action is Action.DECIDE_EXTENSION and not order.extension_pending:
        raise IllegalTransition("no_extension_pending", "there is no extension request to decide")
    return target


def allowed_actions(order: OrderFacts, actor: Actor) -> list[Action]:
    """Actions this actor could take now; lets a desktop show only the buttons that work."""
    allowed: list[Action] = []
    for (source, action), _ in TRANSITIONS.items():
        if source is not order.status:
            continue
        try:
            decide(order, actor, action)
        except TransitionError:
            continue
        allowed.append(action)
    return allowed
