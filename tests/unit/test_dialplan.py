"""The dialplan contract, and the pure cores that depend on it instead of the settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from telephony.dialplan import extension_of

ROOT = Path(__file__).resolve().parents[2]


def test_extension_of_only_agent_phones() -> None:
    assert extension_of("PJSIP/1001") == "1001"
    assert extension_of("PJSIP/trunk-110-primary") is None
    assert extension_of("Local/1001@x") is None


def test_tracker_and_translator_load_no_settings() -> None:
    """The pure cores import the contract, never the settings (nor pydantic behind them)."""
    check = (
        "import sys, telephony.tracker, telephony.events; "
        "loaded = {'pydantic', 'config.settings'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
