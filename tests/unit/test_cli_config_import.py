"""`hotline config import` as an admin runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk_import"
QUEUES, PJSIP = FIXTURES / "queues.conf", FIXTURES / "pjsip.conf"


def _hotline(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    # A settings file that does not exist: the import must not read the centre's settings.
    env = {**os.environ, "HOTLINE_CONFIG": str(cwd / "no-such-settings.toml")}
    return subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", "config", "import", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_prints_masked_mapping_and_report_writes_clear_file_0600(tmp_path: Path) -> None:
    out = tmp_path / "imported.toml"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o644)  # an existing file readable by others is made private
    done = _hotline(tmp_path, QUEUES, PJSIP, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "Chen-Jing-Phone-2001x" not in done.stdout and '"********"' in done.stdout
    shown = tomllib.loads(done.stdout)  # the report lines are TOML comments
    assert [a["extension"] for a in shown["agents"]] == ["2001", "2002", "2901"]
    assert "# pjsip.conf:84: invalid: agents.2004.contact" in done.stdout
    assert "# imported 3 agents, 3 queues, 3 trunks; report: 4 invalid" in done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = tomllib.loads(out.read_text(encoding="utf-8"))
    assert written["agents"][0]["sip_password"] == "Chen-Jing-Phone-2001x"
    police = {"number": "110", "primary": "127.0.0.1:5181", "backup": "127.0.0.1:5182"}
    assert written["trunks"]["police"] == {
        **police, "dial_timeout_s": 10, "transport": "udp", "qualify_s": 30}  # fmt: skip
    assert written["queues"] == shown["queues"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imported.toml"]  # no var/, no db


def test_json_out(tmp_path: Path) -> None:
    out = tmp_path / "imported.json"
    assert _hotline(tmp_path, QUEUES, PJSIP, "--out", out).returncode == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["agents"][2]["name"] == "支援席" and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_malformed_file_exit_2_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "pjsip.conf"
    bad.write_text("[1001]\ntype = endpoint\nthis is not a setting\n", encoding="utf-8")
    done = _hotline(tmp_path, QUEUES, bad, "--out", tmp_path / "x.toml")
    assert done.returncode == 2
    assert "pjsip.conf:3: a line without '='" in done.stderr and "nothing imported" in done.stderr
    assert done.stdout == "" and not (tmp_path / "x.toml").exists()


def test_garbage_missing_file_and_bad_out_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "queues.conf"
    garbage.write_bytes(b"[q]\n" + bytes(range(256)))  # a NUL, then 0x80: no UTF-8
    done = _hotline(tmp_path, garbage, PJSIP)
    assert done.returncode == 2 and "queues.conf:" in done.stderr, done.stderr
    missing = _hotline(tmp_path, tmp_path / "gone.conf", PJSIP)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "gone.conf" in missing.stderr and "Traceback" not in missing.stderr
    wrong = _hotline(tmp_path, QUEUES, PJSIP, "--out", tmp_path / "out.txt")
    assert wrong.returncode == 2 and ".toml or .json" in wrong.stderr
