"""Playing prompts to a caller so that a missing or failing prompt never costs the call."""

import logging
import re

from ivr.agi import AgiCommandError
from ivr.session import AgiSession

log = logging.getLogger(__name__)

_ENDPOS = re.compile(r"endpos=(\d+)")


async def play(session: AgiSession, path: str, escape_digits: str = "") -> str | None:
    """STREAM FILE ``path``; the key that stopped it, if any. A failure is logged, not raised:
    stopped part-way (``endpos`` > 0) the caller hung up, which the next command will see."""
    try:
        return await session.stream_file(path, escape_digits)
    except AgiCommandError as exc:
        found = _ENDPOS.search(str(exc))
        if found is not None and int(found.group(1)) > 0:
            log.info("prompt %s interrupted: %s", path, exc)
        else:
            log.warning("prompt %s not played: %s", path, exc)
        return None


async def play_all(session: AgiSession, paths: list[str], escape_digits: str) -> str | None:
    """Play ``paths`` one after the other until a key in ``escape_digits`` stops one."""
    for path in paths:
        if key := await play(session, path, escape_digits):
            return key
    return None
