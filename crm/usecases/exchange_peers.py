"""The users receiving centres act as: one per line, role peer, created on first use.

A peer acts only through signed exchange messages; its audit entries name it. It is created
inactive with a token digest nobody holds, and `user_by_token` refuses role peer whatever its
state, so no bearer token (API or desk ticket) ever works for it; `add_user` refuses the role.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import User
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.repo.directory import create_user


def peer_name(line: str) -> str:
    return f"{line} 对接平台"


async def peer_actor(session: AsyncSession, line: str) -> Actor:
    """The peer user of `line` (created on first use) as the actor of its messages."""
    name = peer_name(line)
    user = await session.scalar(
        select(User).where(User.name == name, User.role == Role.PEER).order_by(User.id).limit(1)
    )
    if user is None:
        user, _token = await create_user(session, name, Role.PEER, None)
        user.active = False  # never logs in: a signed message is its only door
        await session.flush()
    return Actor(user_id=user.id, role=Role.PEER, unit_id=None)
