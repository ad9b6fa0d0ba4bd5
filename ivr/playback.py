"""Playing a prompt so that a missing or cut-short file never costs the caller the call."""

import logging
import re

from ivr.agi import AgiCommandError
from ivr.session import AgiSession

log = logging.getLogger(__name__)

_ENDPOS = re.compile(r"endpos=(\d+)")


async def play(session: AgiSession, path: str, escape_digits: str = "") -> str | None:
    """Play `path`; the key that stopped it, if any. A failure is logged and the flow goes on."""
    try:
        return await session.stream_file(path, escape_digits)
    except AgiCommandError as exc:
        if _played_some(exc):  # stopped part-way: the caller hung up, nothing is wrong
            log.info("prompt %s interrupted: %s", path, exc)
        else:
            log.warning("prompt %s not played: %s", path, exc)
        return None


def _played_some(exc: AgiCommandError) -> bool:
    """STREAM FILE's ``result=-1 endpos=N``: N > 0 samples were played before it stopped."""
    found = _ENDPOS.search(str(exc))
    return found is not None and int(found.group(1)) > 0
