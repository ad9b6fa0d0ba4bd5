"""`login` and `logout`: join or leave the queues an agent serves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent_gateway.desk.commands.verb import CommandFailed, Presences, Request, Result
from telephony.actions import AmiActions, add_queue_member, remove_queue_member


async def login(
    ami: AmiActions,
    presences: Presences,
    serving: Mapping[str, int],
    request: Request,
) -> Result:
    """Join the queues asked for (by default every queue the agent serves, at its penalty)."""
    ext = request.extension
    wanted = request.args.get("queues") or list(serving)
    unknown = [q for q in wanted if q not in serving]
    if unknown:
        raise CommandFailed("unknown_queue", f"extension {ext} does not serve {unknown}")
    name = presences[ext].name
    for queue in wanted:
        await add_queue_member(ami, queue, ext, name, serving[queue])
    return {"queues": wanted}


async def logout(ami: AmiActions, member_of: Sequence[str], request: Request) -> Result:
    """Leave the queues asked for (by default every queue the agent is a member of now)."""
    queues = request.args.get("queues") or list(member_of)
    for queue in queues:
        await remove_queue_member(ami, queue, request.extension)
    return {"queues": queues}
