"""Every entry of the transition table, every pair that is not in it, and the guards."""

import itertools

import pytest

from crm.domain.enums import Action, OrderType, Role, Status
from crm.domain.lifecycle import (
    TRANSITIONS,
    Actor,
    Forbidden,
    IllegalTransition,
    OrderFacts,
    allowed_actions,
    check_register,
    decide,
)

LEAD = 7
ACTORS = {
    Role.AGENT: Actor(1, Role.AGENT, None),
    Role.SUPERVISOR: Actor(2, Role.SUPERVISOR, None),
    Role.HANDLER: Actor(3, Role.HANDLER, LEAD),
    Role.ADMIN: Actor(4, Role.ADMIN, None),
    Role.PEER: Actor(5, Role.PEER, None),
}


def facts(
    status: Status, *, order_type: OrderType = OrderType.COMPLAINT, pending: bool | None = None
) -> OrderFacts:
    if pending is None:
        pending = status in {Status.ACCEPTED, Status.CONTACTED}
    return OrderFacts(status, order_type, LEAD, pending)


def _facts_for(status: Status, action: Action) -> OrderFacts:
    # an extension can be decided only when one is pending, and requested only when none is
    return facts(status, pending=action is Action.DECIDE_EXTENSION)


LEGAL = [(s, a, t, r) for (s, a), (t, roles) in TRANSITIONS.items() for r in roles]
FORBIDDEN = [
    (s, a, r) for (s, a), (_, roles) in TRANSITIONS.items() for r in Role if r not in roles
]
ILLEGAL = [(s, a) for s, a in itertools.product(Status, Action) if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(("source", "action", "target", "role"), LEGAL)
def test_legal_transition_lands_on_its_target(
    source: Status, action: Action, target: Status, role: Role
) -> None:
    assert decide(_facts_for(source, action), ACTORS[role], action) is target


@pytest.mark.parametrize(("source", "action", "role"), FORBIDDEN)
def test_wrong_role_is_forbidden(source: Status, action: Action, role: Role) -> None:
    with pytest.raises(Forbidden):
        decide(_facts_for(source, action), ACTORS[role], action)


@pytest.mark.parametrize(("source", "action"), ILLEGAL)
@pytest.mark.parametrize("role", list(Role))
def test_action_from_wrong_state_is_illegal(source: Status, action: Action, role: Role) -> None:
    with pytest.raises(IllegalTransition) as err:
        decide(facts(source), ACTORS[role], action)
    assert err.value.code == "illegal_transition"


def test_terminal_states_have_no_way_out() -> None:
    for status in (Status.NOT_ACCEPTED, Status.ANSWERED):
        assert not any(source is status for source, _ in TRANSITIONS)


def test_the_statutory_happy_path() -> None:
    path = [
        (Status.REGISTERED, Action.DISPATCH, Role.AGENT),
        (Status.DISPATCHED, Action.ACCEPT, Role.HANDLER),
        (Status.ACCEPTED, Action.LOG_CONTACT, Role.HANDLER),
        (Status.CONTACTED, Action.REPLY, Role.HANDLER),
        (Status.REPLIED, Action.CALLBACK, Role.AGENT),
    ]
    status = Status.REGISTERED
    for expected, action, role in path:
        assert status is expected
        status = decide(facts(status, pending=False), ACTORS[role], action)
    assert status is Status.CLOSED


def test_return_then_redispatch_and_rework_then_redispatch() -> None:
    agent, handler = ACTORS[Role.AGENT], ACTORS[Role.HANDLER]
    assert decide(facts(Status.DISPATCHED), handler, Action.RETURN) is Status.RETURNED
    assert decide(facts(Status.RETURNED), agent, Action.DISPATCH) is Status.DISPATCHED
    assert decide(facts(Status.REPLIED), agent, Action.REWORK) is Status.REOPENED
    assert decide(facts(Status.REOPENED), agent, Action.DISPATCH) is Status.DISPATCHED


def test_handler_of_another_unit_may_not_act() -> None:
    stranger = Actor(9, Role.HANDLER, LEAD + 1)
    with pytest.raises(Forbidden) as err:
        decide(facts(Status.DISPATCHED), stranger, Action.ACCEPT)
    assert err.value.code == "not_lead_unit"


@pytest.mark.parametrize(
    "order_type", [OrderType.POLICE, OrderType.FIRE, OrderType.MEDICAL, OrderType.DISASTER]
)
@pytest.mark.parametrize("action", [Action.DISPATCH, Action.ANSWER_NOW])
def test_emergencies_are_never_dispatched_or_answered(
    order_type: OrderType, action: Action
) -> None:
    with pytest.raises(IllegalTransition) as err:
        decide(facts(Status.REGISTERED, order_type=order_type), ACTORS[Role.AGENT], action)
    assert err.value.code == "emergency_must_transfer"


def test_emergency_transfers() -> None:
    order = facts(Status.REGISTERED, order_type=OrderType.FIRE)
    assert decide(order, ACTORS[Role.AGENT], Action.TRANSFER) is Status.TRANSFERRED


def test_extension_request_needs_none_pending_and_decision_needs_one() -> None:
    with pytest.raises(IllegalTransition) as err:
        decide(facts(Status.ACCEPTED, pending=True), ACTORS[Role.HANDLER], Action.REQUEST_EXTENSION)
    assert err.value.code == "extension_pending"
    with pytest.raises(IllegalTransition) as err:
        decide(
            facts(Status.ACCEPTED, pending=False), ACTORS[Role.SUPERVISOR], Action.DECIDE_EXTENSION
        )
    assert err.value.code == "no_extension_pending"


def test_only_centre_call_takers_register() -> None:
    assert check_register(ACTORS[Role.AGENT]) is Status.REGISTERED
    assert check_register(ACTORS[Role.SUPERVISOR]) is Status.REGISTERED
    for role in (Role.HANDLER, Role.ADMIN):
        with pytest.raises(Forbidden):
            check_register(ACTORS[role])


def test_allowed_actions_match_decide() -> None:
    assert allowed_actions(facts(Status.REGISTERED), ACTORS[Role.AGENT]) == [
        Action.DISPATCH,
        Action.NOT_ACCEPT,
        Action.ANSWER_NOW,
        Action.TRANSFER,
    ]
    assert allowed_actions(facts(Status.DISPATCHED), ACTORS[Role.HANDLER]) == [
        Action.ACCEPT,
        Action.RETURN,
    ]
    assert allowed_actions(facts(Status.REGISTERED), ACTORS[Role.HANDLER]) == []
