"""The audio Asterisk plays: the IVR's, the order status dates', the queue positions' and
estimated waits' Mandarin prompts, and the queue's hold music."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ivr.order_status_prompts import DATE_PROMPTS
from ivr.prompts import CLIP_END, build_prompts
from telephony.asterisk_config import Layout
from telephony.position_words import POSITION_PROMPTS
from telephony.wait_words import WAIT_PROMPTS

HOLD_MUSIC = "hold.wav"
# A soft two-tone chime, repeated by Asterisk's files mode: enough for callers to know
# they are still connected, and no licensing question.
_HOLD_SYNTH = (
    "synth",
    "0.6",
    "sine",
    "523",
    "sine",
    "659",
    "fade",
    "0.05",
    "0.6",
    "0.3",
    "pad",
    "0",
    "1.4",
    "repeat",
    "3",
    "vol",
    "0.25",
)


def prompt_dir(layout: Layout) -> Path:
    return layout.prompts


def build_sounds(layout: Layout) -> list[Path]:
    """Make whatever audio is missing; files already there are left alone."""
    made = build_prompts(prompt_dir(layout))
    made += build_prompts(prompt_dir(layout), POSITION_PROMPTS, CLIP_END)
    made += build_prompts(prompt_dir(layout), WAIT_PROMPTS, CLIP_END)
    made += build_prompts(prompt_dir(layout), DATE_PROMPTS, CLIP_END)
    hold = layout.moh / HOLD_MUSIC
    if not hold.exists():
        hold.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(hold), *_HOLD_SYNTH],
            check=True,
            capture_output=True,
        )
        made.append(hold)
    return made
