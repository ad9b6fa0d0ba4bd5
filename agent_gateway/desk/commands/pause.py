"""`pause` and `unpause`: stop or resume receiving calls (the agent's own pauses). A pause a
supervisor forced is the supervisor's to end: the agent may neither unpause nor re-pause it
under another reason (`forced_pause`)."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import (
    CommandFailed,
    Presences,
    Request,
    Result,
    require_logged_in,
)
from agent_gateway.desk.forced_pause import FORCED_WORDS, ForcedPauses
from agent_gateway.edge.protocol import reserved_pause_reason
from telephony.actions import AmiActions, pause_member


async def pause(
    ami: AmiActions, presences: Presences, forced: ForcedPauses, request: Request
) -> Result:
    reason = str(request.args["reason"])
    if reserved_pause_reason(reason):  # the protocol refuses it; this guards the stream
        raise CommandFailed("invalid_args", "args.reason: reserved for the backend's wrap-up")
    require_logged_in(presences, request.extension)
    await _not_forced(presences, forced, request)
    await pause_member(ami, request.extension, True, reason)
    return {}


async def unpause(
    ami: AmiActions, presences: Presences, forced: ForcedPauses, request: Request
) -> Result:
    require_logged_in(presences, request.extension)
    await _not_forced(presences, forced, request)
    await pause_member(ami, request.extension, False)
    return {}


async def _not_forced(presences: Presences, forced: ForcedPauses, request: Request) -> None:
    """Refuse while a forced pause holds; else drop a stale mark (the pause ended another
    way), so that the agent's own pause under the same reason stays its own."""
    if await forced.holds(presences[request.extension]):
        raise CommandFailed("forced_pause", FORCED_WORDS)
    await forced.clear(request.extension)
