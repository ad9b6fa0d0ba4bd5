"""Real audio files for the recordings' tests, made and measured by sox (not by the code
under test)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def make_wav(path: Path, seconds: float) -> str:
    """A real 8 kHz mono WAV of a tone (as MixMonitor writes them); its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth", str(seconds),
         "sine", "440"],
        check=True, capture_output=True,
    )  # fmt: skip
    return hashlib.sha256(path.read_bytes()).hexdigest()


def soxi_duration(path: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True)
    return float(out.stdout)


def decodes(path: Path) -> bool:
    """sox reads the file whole (to no output) without an error."""
    return subprocess.run(["sox", str(path), "-n"], capture_output=True).returncode == 0


def file_type(path: Path) -> str:
    return subprocess.run(["soxi", "-t", str(path)], capture_output=True, text=True).stdout.strip()
