"""Interactive voice response: a FastAGI server and the hotline's call flows."""

from ivr.agi import AgiCommandError, AgiError, AgiHangup
from ivr.menu import Label
from ivr.prompts import build_prompts
from ivr.server import FastAgiServer, Flow
from ivr.session import AgiSession
from ivr.welcome import WelcomeFlow

__all__ = [
    "AgiCommandError",
    "AgiError",
    "AgiHangup",
    "AgiSession",
    "FastAgiServer",
    "Flow",
    "Label",
    "WelcomeFlow",
    "build_prompts",
]
