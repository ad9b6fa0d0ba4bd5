"""Units and users: who works where, who a bearer token belongs to, and the trail of changes
made to users."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import Unit, User, UserChange
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


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def create_user(
    session: AsyncSession,
    name: str,
    role: Role,
    unit_id: int | None,
    token: str | None = None,
    agent_extension: str | None = None,
) -> tuple[User, str]:
    """Create a user and return it with its bearer token (shown once, stored hashed).

    Checks nothing: `crm.usecases.users` applies the rules (binding, uniqueness, audit)."""
    token = token or new_token()
    user = User(
        name=name,
        role=role,
        unit_id=unit_id,
        token_hash=hash_token(token),
        active=True,
        agent_extension=agent_extension,
        generation=1,
    )
    session.add(user)
    await session.flush()
    return user, token


async def system_user(session: AsyncSession, name: str) -> User:
    """The system user `name` (a supervisor nobody logs in as) that a job's audit entries
    are signed by; created on first use, inactive."""
    user = await session.scalar(
        select(User).where(User.name == name, User.role == Role.SUPERVISOR).limit(1)
    )
    if user is None:
        user, _token = await create_user(session, name, Role.SUPERVISOR, None)
        user.active = False  # it signs what the job writes; nobody logs in as it
    return user


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.id))).all()


async def active_user_at(session: AsyncSession, extension: str) -> User | None:
    """The active user bound to agent `extension`, if any."""
    return await session.scalar(
        select(User).where(User.agent_extension == extension, User.active.is_(True))
    )


async def desk_generations(session: AsyncSession) -> dict[int, int]:
    """Active user id → credential generation: who may keep a desktop open."""
    rows = await session.execute(select(User.id, User.generation).where(User.active.is_(True)))
    return {user_id: generation for user_id, generation in rows}


async def record_change(
    session: AsyncSession,
    user_id: int,
    actor_id: int | None,
    action: str,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    session.add(UserChange(user_id=user_id, actor_id=actor_id, action=action, at=at,
                           detail=detail))  # fmt: skip
    await session.flush()


async def user_by_token(session: AsyncSession, token: str) -> User | None:
    """The active user holding `token`; never a peer (a receiving centre has no token's door:
    it acts through signed exchange messages only)."""
    return await session.scalar(
        select(User).where(
            User.token_hash == hash_token(token), User.active.is_(True), User.role != Role.PEER
        )
    )
