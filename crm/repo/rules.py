"""The responsibility list (职责清单) as stored rows and as routing rules."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import ResponsibilityRuleRow
from crm.domain.enums import OrderType
from crm.domain.routing import ResponsibilityRule


def to_rule(row: ResponsibilityRuleRow) -> ResponsibilityRule:
    return ResponsibilityRule(
        rule_id=row.id,
        unit_id=row.unit_id,
        unit_role=row.unit_role,
        keywords=tuple(row.keywords),
        order_types=frozenset(OrderType(t) for t in row.order_types),
    )


async def list_rows(session: AsyncSession) -> Sequence[ResponsibilityRuleRow]:
    return (
        await session.scalars(select(ResponsibilityRuleRow).order_by(ResponsibilityRuleRow.id))
    ).all()


async def load_rules(session: AsyncSession) -> list[ResponsibilityRule]:
    return [to_rule(row) for row in await list_rows(session)]


async def get_row(session: AsyncSession, rule_id: int) -> ResponsibilityRuleRow | None:
    return await session.get(ResponsibilityRuleRow, rule_id)
