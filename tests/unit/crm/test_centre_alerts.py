"""The centre's own alerts (a trunk leg down, back): told once per down transition, a
back-again only after a down, their Chinese text; expected values by hand."""

import pytest

from crm.domain.centre_alerts import centre_message, worth_raising
from crm.domain.enums import AlertKind

DOWN, UP = AlertKind.TRUNK_DOWN, AlertKind.TRUNK_UP


@pytest.mark.parametrize(
    ("kind", "last", "raised"),
    [
        (DOWN, None, True),  # the first ever
        (DOWN, UP, True),  # down again after it came back
        (DOWN, DOWN, False),  # still down (a restart found it down again)
        (UP, DOWN, True),  # back after a down told
        (UP, None, False),  # nothing told before: nothing to take back
        (UP, UP, False),
    ],
)
def test_a_down_once_per_transition_and_up_only_after_a_down(
    kind: AlertKind, last: AlertKind | None, raised: bool
) -> None:
    assert worth_raising(kind, last) is raised


def test_the_desk_reads_which_line_and_leg() -> None:
    down = centre_message(DOWN, {"line": "110", "leg": "primary"})
    assert down == "110 主用中继线路无应答（探测失败），紧急转接将跳过该线路"
    assert centre_message(UP, {"line": "119", "leg": "backup"}) == "119 备用中继线路已恢复应答"
    assert centre_message(DOWN, {"leg": 7}).startswith(" 7中继")  # odd detail: still text


def test_the_outbound_trunk_is_named_and_its_consequence_is_the_call_backs() -> None:
    down = centre_message(DOWN, {"line": "outbound", "leg": "backup"})
    assert down == "外呼 备用中继线路无应答（探测失败），回访外呼将跳过该线路"
    up = centre_message(UP, {"line": "outbound", "leg": "primary"})
    assert up == "外呼 主用中继线路已恢复应答"


def test_only_an_emergency_line_s_down_speaks_of_the_emergency_transfer() -> None:
    assert centre_message(DOWN, {"line": "96119", "leg": "primary"}) == (
        "96119 主用中继线路无应答（探测失败）"
    )
    assert centre_message(DOWN, {"line": "120", "leg": "backup"}).endswith("将跳过该线路")


def test_a_leg_no_longer_followed_closes_its_down() -> None:
    stopped = centre_message(UP, {"line": "110", "leg": "backup", "stopped": True})
    assert stopped == "110 备用中继线路已移除或停止探测，告警关闭"
