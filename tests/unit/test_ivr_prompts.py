"""Prompts are real 8 kHz mono speech files, and rebuilding is a no-op unless needed.

These run espeak-ng and sox (about 0.1 s for all prompts): the point is the real audio.
"""

import subprocess
import sys
import wave
from pathlib import Path

import pytest

from ivr.order_status_prompts import ORDER_STATUS_PROMPTS
from ivr.prompts import PROMPTS, PromptError, build_prompts, recipe_digest

NAMES = [
    "hotline-welcome",
    "hotline-menu",
    "hotline-transfer",
    "hotline-invalid",
    "hotline-goodbye",
    "hotline-survey",
    "hotline-nuisance",
    *ORDER_STATUS_PROMPTS,
    "hotline-survey-thanks",
    "hotline-after-hours",
    "hotline-nobody",
    "hotline-message-taken",
    "hotline-callback-taken",
    *(f"hotline-callback-offer-{key}" for key in "123456789"),
    "hotline-callback-placed",
    "hotline-callback-refused",
    "hotline-callback-unreached",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    target = tmp_path_factory.mktemp("sounds")
    return target, build_prompts(target)


def mtimes(directory: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in directory.iterdir()}


def test_one_wav_per_prompt_with_ascii_names(built: tuple[Path, list[Path]]) -> None:
    target, paths = built
    assert paths == [target / f"{name}.wav" for name in NAMES]
    assert sorted(path.name for path in target.iterdir()) == sorted(
        [f"{name}.wav" for name in NAMES] + [f"{name}.txt" for name in NAMES]
    )


@pytest.mark.parametrize("name", NAMES)
def test_wav_is_8khz_mono_16bit_speech(built: tuple[Path, list[Path]], name: str) -> None:
    target, _ = built
    with wave.open(str(target / f"{name}.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        seconds = wav.getnframes() / wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    assert seconds > 0.5  # the shortest pieces (承办单位是, at 260 words a minute) last 0.85 s
    assert len(PROMPTS[name]) / seconds < 8, "slower than 8 characters/s of speech"
    samples = memoryview(frames).cast("h")
    assert max(abs(s) for s in samples) > 3000, "audible"
    assert max(abs(s) for s in samples) < 32767, "not clipped"


def test_the_callback_offer_names_its_key() -> None:
    assert PROMPTS["hotline-callback-offer-1"] == "如需回拨，请按一。"
    assert PROMPTS["hotline-callback-offer-9"] == "如需回拨，请按九。"
    assert (
        "回拨" in PROMPTS["hotline-callback-placed"]
        and "挂机" in PROMPTS["hotline-callback-placed"]
    )


def test_welcome_points_to_the_emergency_lines_and_key_9_then_the_menu() -> None:
    welcome = PROMPTS["hotline-welcome"]
    assert all(line in welcome for line in ("一一零", "一一九", "一二零", "按九"))
    assert welcome.endswith(PROMPTS["hotline-menu"])  # a replay is the menu alone
    assert all(f"按{key}" in PROMPTS["hotline-menu"] for key in "一二三八零")


def test_welcome_is_short_enough_for_a_silent_caller_to_queue_within_8_s(
    built: tuple[Path, list[Path]],
) -> None:
    """7.5 s of greeting and menu, plus the wait for a key, is the 8 s goal's budget."""
    with wave.open(str(built[0] / "hotline-welcome.wav")) as wav:
        assert wav.getnframes() / wav.getframerate() < 7.5


def test_sidecar_holds_digest_and_text(built: tuple[Path, list[Path]]) -> None:
    target, _ = built
    text = PROMPTS["hotline-survey"]
    sidecar = (target / "hotline-survey.txt").read_text(encoding="utf-8")
    assert sidecar == f"{recipe_digest(text)}\n{text}\n"


def test_rerun_is_a_no_op(tmp_path: Path) -> None:
    build_prompts(tmp_path)
    before = mtimes(tmp_path)
    assert build_prompts(tmp_path) == [tmp_path / f"{name}.wav" for name in NAMES]
    assert mtimes(tmp_path) == before


def test_changed_text_or_missing_wav_is_rebuilt(tmp_path: Path) -> None:
    build_prompts(tmp_path)
    (tmp_path / "hotline-goodbye.txt").write_text("sha256:old\n旧的文字\n", encoding="utf-8")
    (tmp_path / "hotline-invalid.wav").unlink()
    before = mtimes(tmp_path)
    build_prompts(tmp_path)
    after = mtimes(tmp_path)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {
        "hotline-goodbye.wav",
        "hotline-goodbye.txt",
        "hotline-invalid.wav",
        "hotline-invalid.txt",
    }
    assert not list(tmp_path.glob(".*"))  # no partial files left


def test_command_line_for_the_installer(built: tuple[Path, list[Path]]) -> None:
    target, paths = built
    before = mtimes(target)
    run = subprocess.run(
        [sys.executable, "-m", "ivr.prompts", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split() == [str(path) for path in paths]
    assert mtimes(target) == before


def test_missing_tool_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PromptError, match="espeak-ng is not installed"):
        build_prompts(tmp_path / "sounds")
    assert not list((tmp_path / "sounds").iterdir())
