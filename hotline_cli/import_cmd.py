"""`hotline config import queues.conf pjsip.conf [--out FILE.toml|json]`: an existing
Asterisk's queues, agents and trunks as the centre's settings sections (config/asterisk_import.py).

Reads the two files and nothing else (no settings, no database, no Asterisk): the running
centre is unchanged. On screen the passwords are masked and the report follows the mapping
as TOML comments (stdout stays a valid TOML document); `--out` gets the passwords in clear,
mode 0600. A malformed or unreadable file: exit code 2 and the file and line on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from config.asterisk_conf import MAX_BYTES, ConfError, decode
from config.asterisk_import import Imported, import_asterisk

log = logging.getLogger("hotline.config_import")


def add_parser(config_sub: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = config_sub.add_parser(
        "import", help="map an existing Asterisk's queues.conf and pjsip.conf (changes nothing)"
    )
    command.add_argument("queues", type=Path, help="the Asterisk's queues.conf")
    command.add_argument("pjsip", type=Path, help="the Asterisk's pjsip.conf")
    command.add_argument("--out", type=Path, help="write the mapping, secrets in clear (0600)")
    command.set_defaults(func=cmd_config_import)
    return command


def cmd_config_import(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if out is not None and out.suffix not in (".toml", ".json"):
        return _refuse(f"--out {out}: the file's name ends in .toml or .json")
    try:
        texts = [decode(_read(path), path.name) for path in (args.queues, args.pjsip)]
        imported = import_asterisk(texts[0], texts[1], args.queues.name, args.pjsip.name)
    except ConfError as exc:
        return _refuse(f"config import: {exc}: nothing imported")
    except OSError as exc:
        return _refuse(f"config import: cannot read {exc.filename}: {exc.strerror}")
    print(as_toml(imported.as_mapping()), end="")
    print(report_text(imported), end="")
    if out is not None:
        mapping = imported.as_mapping(reveal_secrets=True)
        text = json.dumps(mapping, ensure_ascii=False, indent=2) + "\n"
        _write_private(out, text if out.suffix == ".json" else as_toml(mapping))
        print(f"# written: {out} (mode 0600, passwords in clear)")
    return 0


def _read(path: Path) -> bytes:
    with path.open("rb") as file:  # one byte past the limit is enough to refuse
        return file.read(MAX_BYTES + 1)


def _refuse(message: str) -> int:
    log.warning("%s", message)
    print(f"hotline: {message}", file=sys.stderr)
    return 2


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file kept its old mode
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def report_text(imported: Imported) -> str:
    counts = Counter(f.kind for f in imported.findings)
    lines = [f"# {finding}" for finding in imported.findings]
    summary = ", ".join(f"{counts[k]} {k}" for k in ("invalid", "assumed", "unmapped", "own"))
    lines.append(
        f"# imported {len(imported.agents)} agents, {len(imported.queues)} queues, "
        f"{len(imported.trunks)} trunks{'' if imported.outbound is None else ', an outbound trunk'}"
        f"; report: {summary}"
    )
    return "\n".join(lines) + "\n"


def as_toml(mapping: dict[str, Any]) -> str:
    """The settings sections as the TOML file writes them ([[agents]], [[queues]], [trunks.x],
    [outbound])."""
    out: list[str] = []
    for table in ("agents", "queues"):
        for item in mapping[table]:
            out += [f"[[{table}]]", *_pairs(item), ""]
    for key, trunk in mapping["trunks"].items():
        out += [f"[trunks.{key}]", *_pairs(trunk), ""]
    if "outbound" in mapping:
        out += ["[outbound]", *_pairs(mapping["outbound"]), ""]
    return "\n".join(out)


def _pairs(item: dict[str, Any]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in item.items()]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string
