"""Units and users: who works where, and who a bearer token belongs to."""

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import Unit, User
from crm.domain.enums import Role, UnitKind


def hash_token(token: str) -> str:
    """Only a digest is stored, so a leaked database does not leak working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_unit(session: AsyncSession, code: str, name: str, kind: UnitKind) -> Unit:
    unit = Unit(code=code, name=name, kind=kind, active=True)
    session.add(unit)
    await session.flush()
    return unit


async def list_units(session: AsyncSession) -> Sequence[Unit]:
    return (await session.scalars(select(Unit).order_by(Unit.id))).all()


async def get_unit(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.code == code))


async def centre_unit(session: AsyncSession) -> Unit | None:
    """The hotline centre, which keeps matters nobody else is responsible for (首接负责)."""
    return await session.scalar(
        select(Unit).where(Unit.kind == UnitKind.CENTRE).order_by(Unit.id).limit(1)
    )


async def create_user(
    session: AsyncSession, name: str, role: Role, unit_id: int | None, token: str | None = None
) -> tuple[User, str]:
    """Create a user and return it with its bearer token (shown once, stored hashed)."""
    token = token or secrets.token_urlsafe(32)
    user = User(name=name, role=role, unit_id=unit_id, token_hash=hash_token(token), active=True)
    session.add(user)
    await session.flush()
    return user, token


async def user_by_token(session: AsyncSession, token: str) -> User | None:
    return await session.scalar(
        select(User).where(User.token_hash == hash_token(token), User.active.is_(True))
    )
