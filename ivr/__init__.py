"""Interactive voice response: a FastAGI server and the hotline's call flows.

The names below are imported on first use, so that importing a pure module of the package
(`ivr.menu`, `ivr.sanitize`) does not load the server's I/O (asyncio streams, panoramisk).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real types for the type checker; nothing is imported at run time
    from ivr.agi import AgiCommandError as AgiCommandError
    from ivr.agi import AgiError as AgiError
    from ivr.agi import AgiHangup as AgiHangup
    from ivr.menu import Label as Label
    from ivr.prompts import build_prompts as build_prompts
    from ivr.server import FastAgiServer as FastAgiServer
    from ivr.server import Flow as Flow
    from ivr.session import AgiSession as AgiSession
    from ivr.welcome import WelcomeFlow as WelcomeFlow

_HOME = {
    "AgiCommandError": "ivr.agi",
    "AgiError": "ivr.agi",
    "AgiHangup": "ivr.agi",
    "AgiSession": "ivr.session",
    "FastAgiServer": "ivr.server",
    "Flow": "ivr.server",
    "Label": "ivr.menu",
    "WelcomeFlow": "ivr.welcome",
    "build_prompts": "ivr.prompts",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'ivr' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
