"""Suggesting the handling units of a new order from the responsibility list (职责清单).

Pure: it takes the words of the order's text (segmented elsewhere) and the list's rules, and
returns a lead unit with assisting units. When nothing matches, first-contact responsibility
(首接负责制) applies: the unit that took the matter keeps it until responsibility is settled.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crm.domain.enums import OrderType, UnitRole


@dataclass(frozen=True)
class ResponsibilityRule:
    rule_id: int
    unit_id: int
    unit_role: UnitRole
    keywords: tuple[str, ...] = ()
    order_types: frozenset[OrderType] = frozenset()


@dataclass(frozen=True)
class Suggestion:
    lead_unit_id: int
    assist_unit_ids: tuple[int, ...] = ()
    matched_rule_ids: tuple[int, ...] = ()
    matched_keywords: tuple[str, ...] = ()
    first_contact: bool = False


@dataclass(frozen=True)
class _Score:
    rule: ResponsibilityRule
    points: int
    keywords: tuple[str, ...] = field(default=())


def _score(rule: ResponsibilityRule, words: frozenset[str], order_type: OrderType) -> _Score:
    if rule.order_types and order_type not in rule.order_types:
        return _Score(rule, 0)
    hits = tuple(k for k in rule.keywords if k in words)
    if rule.keywords and not hits:
        return _Score(rule, 0)
    # a keyword hit says more than a type match; a type-only rule still counts
    points = 2 * len(hits) + (1 if rule.order_types else 0)
    return _Score(rule, points, hits)


def suggest(
    words: Iterable[str],
    order_type: OrderType,
    rules: Sequence[ResponsibilityRule],
    first_contact_unit_id: int,
) -> Suggestion:
    """Best-scoring lead rule leads; every other matched unit assists."""
    word_set = frozenset(w.strip() for w in words if w.strip())
    scored = [s for s in (_score(r, word_set, order_type) for r in rules) if s.points > 0]
    leads = sorted(
        (s for s in scored if s.rule.unit_role is UnitRole.LEAD),
        key=lambda s: (-s.points, s.rule.rule_id),
    )
    if not leads:
        return Suggestion(lead_unit_id=first_contact_unit_id, first_contact=True)
    lead = leads[0].rule.unit_id
    assists: list[int] = []
    for s in sorted(scored, key=lambda s: (-s.points, s.rule.rule_id)):
        if s.rule.unit_id != lead and s.rule.unit_id not in assists:
            assists.append(s.rule.unit_id)
    keywords: list[str] = []
    for s in scored:
        keywords.extend(k for k in s.keywords if k not in keywords)
    return Suggestion(
        lead_unit_id=lead,
        assist_unit_ids=tuple(assists),
        matched_rule_ids=tuple(s.rule.rule_id for s in scored),
        matched_keywords=tuple(keywords),
    )
