"""Suggesting lead and assisting units from the responsibility list."""

import pytest

from crm.domain.enums import OrderType, UnitRole
from crm.domain.routing import ResponsibilityRule, suggest
from crm.segmenter import Segmenter

CENTRE, URBAN, ENV, POWER, MARKET = 1, 10, 11, 12, 13
RULES = [
    ResponsibilityRule(1, URBAN, UnitRole.LEAD, ("占道经营", "路灯", "井盖")),
    ResponsibilityRule(2, ENV, UnitRole.LEAD, ("噪音", "扰民", "油烟")),
    ResponsibilityRule(3, POWER, UnitRole.ASSIST, ("路灯", "停电")),
    ResponsibilityRule(4, MARKET, UnitRole.LEAD, (), frozenset({OrderType.REPORT})),
    ResponsibilityRule(5, MARKET, UnitRole.LEAD, ("价格",), frozenset({OrderType.COMPLAINT})),
]


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    keywords = [k for rule in RULES for k in rule.keywords]
    return Segmenter(keywords)


def test_keyword_match_picks_the_lead(segmenter: Segmenter) -> None:
    words = segmenter.words("小区门口有人占道经营。堵塞交通")
    s = suggest(words, OrderType.COMPLAINT, RULES, CENTRE)
    assert (s.lead_unit_id, s.assist_unit_ids, s.first_contact) == (URBAN, (), False)
    assert s.matched_keywords == ("占道经营",)


def test_more_keywords_lead_and_other_matches_assist(segmenter: Segmenter) -> None:
    words = segmenter.words("楼下饭店油烟很大。晚上噪音扰民。门口路灯也坏了")
    s = suggest(words, OrderType.COMPLAINT, RULES, CENTRE)
    assert s.lead_unit_id == ENV
    assert set(s.assist_unit_ids) == {URBAN, POWER}
    assert s.matched_rule_ids == (1, 2, 3)


def test_assist_only_match_falls_back_to_first_contact(segmenter: Segmenter) -> None:
    s = suggest(segmenter.words("我家停电了"), OrderType.HELP, RULES, CENTRE)
    assert s.first_contact and s.lead_unit_id == CENTRE


def test_no_match_keeps_the_order_with_the_first_contact_unit(segmenter: Segmenter) -> None:
    s = suggest(segmenter.words("请问社保卡怎么补办"), OrderType.CONSULTATION, RULES, CENTRE)
    assert s.lead_unit_id == CENTRE and s.first_contact and s.assist_unit_ids == ()


def test_type_only_rule_matches_by_type(segmenter: Segmenter) -> None:
    s = suggest(segmenter.words("有人卖假货"), OrderType.REPORT, RULES, CENTRE)
    assert s.lead_unit_id == MARKET


def test_typed_rule_ignored_for_other_types(segmenter: Segmenter) -> None:
    words = segmenter.words("菜市场价格太高")
    assert suggest(words, OrderType.COMPLAINT, RULES, CENTRE).lead_unit_id == MARKET
    assert suggest(words, OrderType.CONSULTATION, RULES, CENTRE).first_contact


def test_ties_go_to_the_earlier_rule() -> None:
    rules = [
        ResponsibilityRule(9, ENV, UnitRole.LEAD, ("垃圾",)),
        ResponsibilityRule(8, URBAN, UnitRole.LEAD, ("垃圾",)),
    ]
    s = suggest(["垃圾"], OrderType.COMPLAINT, rules, CENTRE)
    assert (s.lead_unit_id, s.assist_unit_ids) == (URBAN, (ENV,))


def test_segmenter_keeps_admin_keywords_whole() -> None:
    seg = Segmenter(["共享单车乱停"])
    assert "共享单车乱停" in seg.words("小区门口共享单车乱停放")
