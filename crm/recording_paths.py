"""The one safe way from a recording's name to its file under the recordings directory.

Used by everything that touches a recording's file: the API serving it (`crm.api`), the
checker's store, reconciliation, compression and retention (`recordings/`). The name's shape
is checked first (`crm.domain.calls.is_kept_recording_name`: no absolute path, `..` or NUL
can pass), then the real path, so that a symlink inside the directory cannot lead out of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from crm.domain.calls import is_kept_recording_name


class UnsafeRecordingPath(ValueError):
    """A recording name that is not one, or that leads out of the recordings directory."""


def resolve_recording(root: Path, name: str) -> Path:
    """The file `name` stands for under `root`, symlinks followed; UnsafeRecordingPath if
    `name` is not a kept recording's name or its real path lies outside `root`. Touches the
    file system only to follow links: whether the file exists is the caller's question."""
    if "\0" in name or not is_kept_recording_name(name):
        raise UnsafeRecordingPath(f"not a recording name: {name[:80]!r}")
    base = Path(os.path.realpath(root))
    real = Path(os.path.realpath(base / name))
    if real == base or not real.is_relative_to(base):
        raise UnsafeRecordingPath(f"{name} leads out of the recordings directory")
    return real
