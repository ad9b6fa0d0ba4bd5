"""The `alert` bus message: its kinds are the CRM's, and the publisher builds it from an
alert and its order without the caller, with the duty leaders and epoch times."""

from datetime import UTC, datetime
from typing import get_args

import pytest

from agent_gateway.edge.alert_message import AlertKindName
from config.settings import SettingsError, load_settings
from crm.db.exchange_models import OrderAlert
from crm.db.models import WorkOrder
from crm.domain.enums import AlertKind, OrderType, Severity, Status, TransferTarget
from crm.usecases.alerts import AlertView, DutyLeader, DutyLeaders
from hotline_cli.alert_publisher import alert_message, emergency_rules

RAISED = datetime(2026, 12, 1, 8, 8, 0)
DUE = datetime(2026, 12, 1, 8, 10, 0)


def test_the_protocol_names_every_alert_kind_of_the_crm() -> None:
    assert set(get_args(AlertKindName)) == {k.value for k in AlertKind}


def test_the_settings_reach_the_crm_rules() -> None:
    settings = load_settings(environ={}, overrides={
        "emergency": {"warn_before_s": 180, "result_due_h": 12, "duty_leaders": [7, 12]}
    })  # fmt: skip
    rules = emergency_rules(settings)
    assert (rules.warn_before_s, rules.result_due_h, rules.duty_leaders) == (180, 12, (7, 12))


@pytest.mark.parametrize("leaders", [["张局"], [0], [-3]])
def test_duty_leaders_are_user_ids(leaders: list[object]) -> None:
    with pytest.raises(SettingsError, match="duty_leaders"):  # names are not unique: ids only
        load_settings(environ={}, overrides={"emergency": {"duty_leaders": leaders}})


def test_a_warning_as_the_supervisors_desk_gets_it() -> None:
    order = WorkOrder(
        id=5, number="SZ12345-20261201-000005", order_type=OrderType.POLICE,
        severity=Severity.GENERAL, stability_clue=False, status=Status.TRANSFERRED,
        transfer_target=TransferTarget.POLICE_110, transfer_due_at=DUE, caller_number="13800000000",
    )  # fmt: skip
    alert = OrderAlert(id=9, order_id=5, kind=AlertKind.TRANSFER_WARNING, raised_at=RAISED,
                       detail={"line": "110"})  # fmt: skip
    settings = load_settings(environ={}, overrides={"emergency": {"duty_leaders": [7, 12]}})
    leaders = DutyLeaders((DutyLeader(7, "张局", None),), missing=(12,))  # as looked up
    message = alert_message(AlertView(alert, order), emergency_rules(settings), leaders)
    body = message.model_dump(mode="json")
    assert body == {
        "type": "alert", "alert_id": 9, "kind": "transfer_warning", "order_id": 5, "subject": "",
        "order_number": "SZ12345-20261201-000005", "order_type": "police",
        "severity": "general", "stability_clue": False, "line": "110",
        "raised_at": RAISED.replace(tzinfo=UTC).timestamp(),
        "due_at": DUE.replace(tzinfo=UTC).timestamp(), "duty_leaders": ["张局"],
        "message": "紧急工单 SZ12345-20261201-000005 距移交时限不足 2 分钟，尚未确认移交",
        "detail": {"line": "110"},
    }  # fmt: skip
    assert "13800000000" not in str(body)


def test_a_trunk_alert_has_no_order() -> None:
    alert = OrderAlert(id=11, kind=AlertKind.TRUNK_DOWN, subject="trunk-110-primary",
                       raised_at=RAISED, detail={"line": "110", "leg": "primary"})  # fmt: skip
    settings = load_settings(environ={}, overrides={})
    body = alert_message(AlertView(alert, None), emergency_rules(settings), DutyLeaders((), ()))
    assert body.model_dump(mode="json") == {
        "type": "alert", "alert_id": 11, "kind": "trunk_down", "order_id": None,
        "subject": "trunk-110-primary", "order_number": None, "order_type": None,
        "severity": None, "stability_clue": False, "line": "110",
        "raised_at": RAISED.replace(tzinfo=UTC).timestamp(), "due_at": None, "duty_leaders": [],
        "message": "110 主用中继线路无应答（探测失败），紧急转接将跳过该线路",
        "detail": {"line": "110", "leg": "primary"},
    }  # fmt: skip
