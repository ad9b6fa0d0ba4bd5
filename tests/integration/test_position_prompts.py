"""The position whisper's dialplan plays Mandarin prompts that `build_sounds` really made.

Real espeak-ng and sox into a private layout, then the rendered `hotline-position` context
read back as Asterisk would expand it: every file it plays exists, and what each extension
says, read from the prompts' own text sidecars, is the sentence a caller should hear.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import pytest

from config.secrets import resolve_secrets
from config.settings import load_settings
from hotline_cli.sounds import build_sounds
from telephony.asterisk_config import Layout, render
from telephony.dialplan import CONTEXT_POSITION, CONTEXT_WAIT
from telephony.wait_words import wait_key, wait_sentences


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("hotline") / "asterisk")
    build_sounds(layout)
    return layout


def sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for block in re.split(r"^\[", text, flags=re.M)[1:]:
        name, _, body = block.partition("]\n")
        out[name] = [line for line in body.splitlines() if line.strip()]
    return out


def played(layout: Layout, context: str = CONTEXT_POSITION) -> dict[str, list[Path]]:
    """Files each extension of the position (or wait) context plays, globals expanded."""
    state = {"HOTLINE_PATHS__STATE_DIR": str(layout.base.parent / "state")}
    settings = resolve_secrets(load_settings(environ=state))
    conf = sections(render(settings, layout)["extensions.conf"])
    variables = dict(line.split("=", 1) for line in conf["globals"])
    out: dict[str, list[Path]] = {}
    for line in conf[context]:
        found = re.fullmatch(
            r"exten => ([^,]+),1,(?:Gosub\(say,1\((.*)\)\)|Playback\((.*)\))", line
        )
        if found:
            data = found.group(2) or found.group(3)
            files = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], data)
            out[found.group(1)] = [Path(f) for f in files.split("&")]
    assert "exten => say,1,Answer()" in conf[CONTEXT_POSITION]
    assert " same => n,Playback(${ARG1})" in conf[CONTEXT_POSITION]
    return out


def said(files: list[Path]) -> str:
    return "".join(f.with_suffix(".txt").read_text(encoding="utf-8").splitlines()[1] for f in files)


def test_every_position_plays_only_prompts_that_were_built(layout: Layout) -> None:
    by_extension = played(layout)
    assert len(by_extension) == 1000  # 1..999 and the pattern beyond
    for extension, files in by_extension.items():
        for f in files:
            assert f.parent == layout.prompts, (extension, f)
            assert f.with_suffix(".wav").is_file(), (extension, f)


@pytest.mark.parametrize(
    ("extension", "sentence"),
    [
        ("1", "您是下一位，请稍候。"),
        ("2", "您前面还有一位来电，请耐心等待。"),
        ("3", "您前面还有两位来电，请耐心等待。"),
        ("40", "您前面还有三十九位来电，请耐心等待。"),
        ("206", "您前面还有两百零五位来电，请耐心等待。"),
        ("_[1-9]XXX!", "您前面还有很多位来电，请耐心等待。"),
    ],
)
def test_each_position_says_the_callers_ahead_in_mandarin(
    layout: Layout, extension: str, sentence: str
) -> None:
    assert said(played(layout)[extension]) == sentence


def test_each_wait_plays_prompts_that_were_built_and_says_it(layout: Layout) -> None:
    by_key = played(layout, CONTEXT_WAIT)
    assert set(by_key) == set(wait_sentences())
    assert all(f.with_suffix(".wav").is_file() for files in by_key.values() for f in files)
    assert said(by_key[wait_key(30)]) == "预计等待不到一分钟。"
    assert said(by_key[wait_key(170)]) == "预计等待约三分钟。"
    assert said(by_key[wait_key(1500)]) == "预计等待约二十五分钟。"


def test_number_pieces_end_without_the_synthesiser_pause(layout: Layout) -> None:
    """Pieces are played back to back: "二 十 三" must not sound like three sentences."""
    with wave.open(str(layout.prompts / "hotline-num-3.wav")) as wav:
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    samples = memoryview(frames).cast("h")
    last_loud = max(i for i, s in enumerate(samples) if abs(s) > 300)
    assert (len(samples) - last_loud) / rate < 0.12
    assert len(samples) / rate < 0.45
