"""`wrapup_done`: the agent ends its wrap-up early and is available again."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import CommandFailed, Request, Result
from agent_gateway.desk.presence import IllegalTransition, WrapUpDone
from agent_gateway.desk.service import DeskService


async def wrapup_done(desk: DeskService, request: Request) -> Result:
    try:
        await desk.apply_command_input(request.extension, WrapUpDone())
    except IllegalTransition:
        raise CommandFailed("not_in_wrap_up", "no call to wrap up") from None
    return {}
