"""The supervisors' live wall (`[supervision]`): how its service level counts and when it
raises an alert. The emergency clock's warning is `[emergency] warn_before_s`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from config.fields import Frozen

Seconds = Annotated[float, Field(gt=0, le=86400)]


class Supervision(Frozen):
    # The answer goal the service level counts: answered within this many seconds.
    service_goal_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    # A caller who hangs up in the queue in under this long is not offered (a misdial); every
    # later abandon counts against the service level.
    short_abandon_s: Annotated[float, Field(ge=0, le=60)] = 5.0
    # A queue whose longest waiting caller waited longer than this raises an alert.
    longest_wait_alert_s: Seconds = 60.0
    # An agent paused longer than this raises an alert (by reason, else the one limit).
    pause_alert_s: Seconds = 900.0
    pause_alert_s_by_reason: Mapping[str, Seconds] = Field(default_factory=dict)
    # How often the wall is counted again (and at once after a call or agent change).
    wall_refresh_s: Annotated[float, Field(ge=0.5, le=60)] = 2.0
