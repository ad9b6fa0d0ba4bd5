"""Every entry of the transition table, every pair that is not in it, and the guards."""

import itertools

import pytest

from crm.domain.enums import Action, NotAcceptedReason, OrderType, Role, Status
from crm.domain.lifecycle import (
    TRANSITIONS,
    Actor,
    Forbidden,
    IllegalTransition,
    OrderFacts,
    allowed_actions,
    check_amend_emergency,
    check_not_accept_reason,
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
    status: Status,
    *,
    order_type: OrderType = OrderType.COMPLAINT,
    pending: bool | None = None,
    clue: bool = False,
    handed_over: bool = False,
) -> OrderFacts:
    if pending is None:
        pending = status in {Status.ACCEPTED, Status.CONTACTED}
    return OrderFacts(status, order_type, LEAD, pending, clue, handed_over)


def _facts_for(status: Status, action: Action) -> OrderFacts:
    # an extension can be decided only when one is pending, and requested only when none is;
    # the result comes back only after a confirmed hand-over, a decision only before one
    return facts(
        status,
        pending=action is Action.DECIDE_EXTENSION,
        handed_over=action is Action.TRANSFER_FEEDBACK,
    )


LEGAL = [(s, a, t, r) for (s, a), (t, roles) in TRANSITIONS.items() for r in Role if r in roles]
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
@pytest.mark.parametrize("action", [Action.DISPATCH, Action.ANSWER_NOW, Action.NOT_ACCEPT])
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_emergencies_are_never_dispatched_answered_or_not_accepted(
    order_type: OrderType, action: Action, role: Role
) -> None:
    with pytest.raises(IllegalTransition) as err:
        decide(facts(Status.REGISTERED, order_type=order_type), ACTORS[role], action)
    assert err.value.code == "emergency_must_transfer"


@pytest.mark.parametrize("action", [Action.DISPATCH, Action.ANSWER_NOW, Action.NOT_ACCEPT])
def test_a_stability_clue_goes_to_110_like_an_emergency(action: Action) -> None:
    clue = facts(Status.REGISTERED, order_type=OrderType.COMPLAINT, clue=True)
    with pytest.raises(IllegalTransition) as err:
        decide(clue, ACTORS[Role.AGENT], action)
    assert err.value.code == "emergency_must_transfer"
    assert allowed_actions(clue, ACTORS[Role.AGENT]) == [Action.TRANSFER]


def test_a_returned_emergency_is_not_closed_as_not_accepted_by_a_supervisor() -> None:
    order = facts(Status.RETURNED, order_type=OrderType.POLICE)
    with pytest.raises(IllegalTransition) as err:
        decide(order, ACTORS[Role.SUPERVISOR], Action.NOT_ACCEPT)
    assert err.value.code == "emergency_must_transfer"


def test_emergency_line_matters_are_transferred_not_refused() -> None:
    with pytest.raises(IllegalTransition) as err:
        check_not_accept_reason(NotAcceptedReason.EMERGENCY_LINE_MATTER)
    assert err.value.code == "emergency_must_transfer"
    check_not_accept_reason(NotAcceptedReason.OUT_OF_JURISDICTION)  # others still may


def test_the_result_closes_only_a_confirmed_hand_over() -> None:
    waiting = facts(Status.TRANSFERRED, order_type=OrderType.FIRE)
    for role in (Role.PEER, Role.SUPERVISOR):
        with pytest.raises(IllegalTransition) as err:
            decide(waiting, ACTORS[role], Action.TRANSFER_FEEDBACK)
        assert err.value.code == "not_handed_over"
    assert allowed_actions(waiting, ACTORS[Role.SUPERVISOR]) == [Action.HANDOVER_DECISION]
    done = facts(Status.TRANSFERRED, order_type=OrderType.FIRE, handed_over=True)
    assert decide(done, ACTORS[Role.PEER], Action.TRANSFER_FEEDBACK) is Status.CLOSED
    with pytest.raises(IllegalTransition) as err:
        decide(done, ACTORS[Role.SUPERVISOR], Action.HANDOVER_DECISION)
    assert err.value.code == "already_handed_over"
    assert allowed_actions(done, ACTORS[Role.SUPERVISOR]) == [Action.TRANSFER_FEEDBACK]


def test_agents_never_close_a_transferred_order() -> None:
    done = facts(Status.TRANSFERRED, order_type=OrderType.FIRE, handed_over=True)
    assert allowed_actions(done, ACTORS[Role.AGENT]) == []


def test_only_a_supervisor_amends_an_order_out_of_emergency() -> None:
    for role in (Role.AGENT, Role.ADMIN):
        with pytest.raises(Forbidden) as err:
            check_amend_emergency(True, False, ACTORS[role])
        assert err.value.code == "emergency_amend_forbidden"
    check_amend_emergency(True, False, ACTORS[Role.SUPERVISOR])
    check_amend_emergency(False, True, ACTORS[Role.AGENT])  # into emergency: anyone
    check_amend_emergency(True, True, ACTORS[Role.AGENT])


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
