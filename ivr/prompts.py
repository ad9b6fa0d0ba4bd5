"""Mandarin voice prompts, synthesised with espeak-ng and converted by sox for Asterisk.

Asterisk plays 8 kHz mono 16-bit WAV without transcoding on narrow-band calls. The plain
``cmn`` voice spells Chinese with English letter names; ``cmn-latn-pinyin`` reads it with
tones. Numbers are written 一一零 so they are read digit by digit, as callers dial them.

Building is idempotent: a sidecar ``<name>.txt`` records a digest of the text and of every
synthesis setting, and a prompt whose WAV exists with an unchanged digest is skipped.
"""

import argparse
import hashlib
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ivr.callback_prompts import CALLBACK_PROMPTS
from ivr.order_status_prompts import ORDER_STATUS_PROMPTS

log = logging.getLogger(__name__)

WELCOME = "hotline-welcome"
MENU = "hotline-menu"
TRANSFER = "hotline-transfer"
INVALID = "hotline-invalid"
GOODBYE = "hotline-goodbye"
SURVEY = "hotline-survey"
NUISANCE = "hotline-nuisance"
SURVEY_THANKS = "hotline-survey-thanks"

# The main menu (ivrcore). Short on purpose: greeting and menu together last about 7 s, so a
# caller who presses nothing reaches the queue within about 8 s of being answered.
_GREETING = "紧急情况按九，或拨一一零、一一九、一二零。"
_MENU = "咨询按一，投诉按二，求助建议按三，查询按八，人工按零。"

# 24/7 (duty): outside hours, and nobody able to answer
AFTER_HOURS = "hotline-after-hours"
NOBODY = "hotline-nobody"
MESSAGE_TAKEN = "hotline-message-taken"
CALLBACK_TAKEN = "hotline-callback-taken"

PROMPTS: Mapping[str, str] = {
    WELCOME: _GREETING + _MENU,
    MENU: _MENU,
    TRANSFER: "正在为您转接人工服务，请稍候。",
    INVALID: "输入有误，请重新选择。",
    GOODBYE: "感谢您的来电，再见。",
    SURVEY: "请对本次服务进行评价，满意请按一，基本满意请按二，不满意请按三。",
    # A number on the nuisance list: refused, yet pointed to the emergency lines.
    NUISANCE: "您的号码已被限制呼入。紧急情况请直接拨打一一零、一一九或一二零。",
    # Order status self-service (key 8): ivr/order_status_rules.py says which are played when.
    **ORDER_STATUS_PROMPTS,
    # The satisfaction survey (ivr/survey.py): after an answer; no answer hears GOODBYE.
    SURVEY_THANKS: "感谢您的评价，再见。",
    # 24/7 (duty): said before the duty group is rung; then, when nobody can answer.
    AFTER_HOURS: "非工作时间，正在转接值班人员。",
    NOBODY: "暂时无人接听。回电请按一，留言请在提示音后说话。",
    MESSAGE_TAKEN: "留言已记录，再见。",
    CALLBACK_TAKEN: "已登记回电，再见。",
    # Callback keeping the place (ivr/callback.py, the position announcements, the agent).
    **CALLBACK_PROMPTS,
}

# -s 260 words a minute (espeak-ng's default is 175): brisk, still clear on a phone line;
# -z: no pause after the last sentence (the caller would wait through it for nothing).
_ESPEAK = (
    "espeak-ng", "-v", "cmn-latn-pinyin", "-s", "260", "-z", "-b", "1", "--stdin", "--stdout",
)  # fmt: skip
# -v 0.8 before the input: espeak-ng's peaks clip after resampling otherwise.
_SOX = ("sox", "-v", "0.8", "-t", "wav", "-", "-t", "wav", "-r", "8000", "-c", "1", "-b", "16")
# For pieces played back to back (a number syllable by syllable): espeak-ng ends every text
# with ~0.3 s of silence, which would make "二 十 三" sound like three separate words.
CLIP_END = ("reverse", "silence", "1", "0.005", "0.3%", "reverse", "pad", "0", "0.04")


class PromptError(RuntimeError):
    """A prompt could not be synthesised (tool missing or failing)."""


def recipe_digest(text: str, effects: tuple[str, ...] = ()) -> str:
    """Digest of everything that shapes the audio, so a change of text or settings rebuilds."""
    recipe = "\0".join((text, *_ESPEAK, *_SOX, *effects))
    return "sha256:" + hashlib.sha256(recipe.encode()).hexdigest()


def _stored_digest(sidecar: Path) -> str | None:
    try:
        return sidecar.read_text(encoding="utf-8").partition("\n")[0]
    except (OSError, UnicodeDecodeError):
        return None


def _run(command: tuple[str, ...], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, input=stdin, capture_output=True, check=True)
    except FileNotFoundError:
        raise PromptError(f"{command[0]} is not installed") from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace").strip()
        raise PromptError(f"{command[0]} failed ({exc.returncode}): {stderr}") from None


def _synthesise(text: str, wav: Path, effects: tuple[str, ...]) -> None:
    """Write ``wav`` atomically: a half-written file would look built on the next run."""
    speech = _run(_ESPEAK, text.encode()).stdout
    partial = wav.with_name(f".{wav.name}.partial")
    converted = _run((*_SOX, str(partial), *effects), speech)
    if converted.stderr.strip():
        log.warning("sox on %s: %s", wav.name, converted.stderr.decode(errors="replace").strip())
    os.replace(partial, wav)


def build_prompts(
    target_dir: Path, prompts: Mapping[str, str] = PROMPTS, effects: tuple[str, ...] = ()
) -> list[Path]:
    """Make every prompt (name -> text) in ``target_dir``, passing the audio through the sox
    ``effects``; return the WAV paths, built or already current.

    Asterisk plays them as ``target_dir / name`` without the extension.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in prompts.items():
        wav = target_dir / f"{name}.wav"
        sidecar = target_dir / f"{name}.txt"
        digest = recipe_digest(text, effects)
        if wav.is_file() and _stored_digest(sidecar) == digest:
            log.debug("prompt %s is current", wav)
        else:
            _synthesise(text, wav, effects)
            sidecar.write_text(f"{digest}\n{text}\n", encoding="utf-8")
            log.info("prompt %s built", wav)
        paths.append(wav)
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m ivr.prompts DIR``: for the installer, which runs before the app exists."""
    parser = argparse.ArgumentParser(description="Build the hotline's Mandarin prompts.")
    parser.add_argument("target_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        for path in build_prompts(args.target_dir):
            print(path)
    except PromptError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
