"""Admin changes to users: creation, agent binding, disabling, token rotation and revocation.

The same rules for the API and the `hotline user` command: a user is bound to the phone it
works at (`agent_extension`): an agent to its agent extension, a supervisor or an admin to a
supervisor's phone (the one ChanSpy rings for listen / whisper / barge), a department handler
to a department's phone (rung first when the handler calls a citizen through the centre: the
same column, since it means the same, the phone the user works at); one active user
per extension, and every change is recorded in the users'
trail (`actor_id` None: the command line on the server). A change that must end the user's
open desktops bumps `generation`; the wiring root publishes it to the gateways.
"""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import User
from crm.domain.enums import Role
from crm.errors import Conflict, InvalidInput, NotFound
from crm.repo import directory

SUPERVISOR_PHONE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
PHONE_ROLES = frozenset({Role.AGENT, Role.HANDLER}) | SUPERVISOR_PHONE_ROLES


async def _check_binding(
    session: AsyncSession,
    role: Role,
    extension: str | None,
    user_id: int | None = None,
    active: bool = True,
    supervisor_phones: Collection[str] | None = None,
    department_phones: Collection[str] | None = None,
) -> None:
    """Agents, supervisors, admins and handlers are bound (supervisors and admins to one of
    `supervisor_phones`, handlers to one of `department_phones`, when given); an active one
    to an extension no other active user holds."""
    if extension is None:
        return
    if role not in PHONE_ROLES:
        raise InvalidInput(
            "binding_needs_agent",
            "only agents (to their agent extension), supervisors and admins (to a "
            "supervisor's phone) and handlers (to a department's phone) work at a phone",
            "agent_extension",
        )  # fmt: skip
    if (
        role is Role.HANDLER
        and department_phones is not None
        and (extension not in department_phones)
    ):
        raise InvalidInput(
            "not_a_department_phone",
            f"{extension} is not a department's phone ([[colleagues]] of kind department)",
            "agent_extension",
        )  # fmt: skip
    if role is Role.AGENT:  # a desk's ticket is refused at a colleague's phone
        for kind, phones in (("supervisor", supervisor_phones), ("department", department_phones)):
            if phones is not None and extension in phones:
                raise InvalidInput(
                    "not_an_agent_extension", f"{extension} is a {kind}'s phone, not an agent's",
                    "agent_extension",
                )  # fmt: skip
    if (
        role in SUPERVISOR_PHONE_ROLES
        and supervisor_phones is not None
        and (extension not in supervisor_phones)
    ):
        raise InvalidInput(
            "not_a_supervisor_phone",
            f"{extension} is not a supervisor's phone ([[colleagues]] of kind supervisor)",
            "agent_extension",
        )  # fmt: skip
    holder = await directory.active_user_at(session, extension) if active else None
    if holder is not None and holder.id != user_id:
        raise Conflict(
            "extension_taken", f"extension {extension} is bound to user {holder.id}",
            "agent_extension",
        )  # fmt: skip


async def add_user(
    session: AsyncSession,
    actor_id: int | None,
    at: datetime,
    name: str,
    role: Role,
    unit_id: int | None,
    agent_extension: str | None = None,
    supervisor_phones: Collection[str] | None = None,
    department_phones: Collection[str] | None = None,
) -> tuple[User, str]:
    """The new user and its bearer token (shown once); never a peer (created by the exchange
    itself, `crm.usecases.exchange_peers`)."""
    if role is Role.PEER:
        raise InvalidInput("role_not_creatable", "peer users are created by the exchange", "role")
    await _check_binding(
        session, role, agent_extension, supervisor_phones=supervisor_phones,
        department_phones=department_phones,
    )  # fmt: skip
    user, token = await directory.create_user(
        session, name, role, unit_id, agent_extension=agent_extension
    )
    detail = {"name": name, "role": role.value, "unit_id": unit_id,
              "agent_extension": agent_extension}  # fmt: skip
    await directory.record_change(session, user.id, actor_id, "created", at, detail)
    return user, token


async def require_user(session: AsyncSession, user_id: int) -> User:
    user = await directory.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", f"no user {user_id}")
    return user


async def change_user(
    session: AsyncSession,
    actor_id: int | None,
    at: datetime,
    user: User,
    *,
    active: bool | None = None,
    agent_extension: str | None = None,
    rebind: bool = False,
    supervisor_phones: Collection[str] | None = None,
    department_phones: Collection[str] | None = None,
) -> bool:
    """Enable/disable the user, and with `rebind` set its binding to `agent_extension`
    (None: unbound). Returns whether anything changed."""
    new_active = user.active if active is None else active
    new_extension = agent_extension if rebind else user.agent_extension
    await _check_binding(
        session, user.role, new_extension, user.id, new_active, supervisor_phones,
        department_phones,
    )  # fmt: skip
    changes: dict[str, list[object]] = {}
    if new_active != user.active:
        changes["active"] = [user.active, new_active]
    if new_extension != user.agent_extension:
        changes["agent_extension"] = [user.agent_extension, new_extension]
    if not changes:
        return False
    user.active, user.agent_extension = new_active, new_extension
    user.generation += 1
    await session.flush()
    await directory.record_change(session, user.id, actor_id, "changed", at, changes)
    return True


async def rotate_token(
    session: AsyncSession, actor_id: int | None, at: datetime, user: User
) -> str:
    """A new bearer token for the user (shown once); the old one stops working."""
    token = directory.new_token()
    user.token_hash = directory.hash_token(token)
    user.generation += 1
    await session.flush()
    await directory.record_change(session, user.id, actor_id, "token_rotated", at, {})
    return token


async def revoke_token(
    session: AsyncSession, actor_id: int | None, at: datetime, user: User
) -> None:
    """No token of the user works any more (its digest is replaced by one of a token nobody
    is given); rotating gives it a working one again."""
    user.token_hash = directory.hash_token(directory.new_token())
    user.generation += 1
    await session.flush()
    await directory.record_change(session, user.id, actor_id, "token_revoked", at, {})
