"""A reader of Asterisk's configuration format (queues.conf, pjsip.conf, …), pure.

Independent of the renderer (`telephony/asterisk_config.py`), so importing our own files back
checks both. It follows Asterisk 16's `config.c`: `[name]` sections, templates `[name](!)`,
inheritance `[name](base1,base2)` (bases defined earlier; their entries come first), additions
`[name](+)`, `key = value` and `key => value`, `;` comments (`\\;` is a literal semicolon),
nested `;-- … --;` block comments, repeated keys kept in order. `#include`, `#tryinclude` and
`#exec` are recorded, never followed: an import reads only the files it is given.

Stricter than Asterisk where it only warns: a line without `=` is an error. Every error names
the file and the line (`ConfError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BYTES = 4 * 1024 * 1024  # a pjsip.conf for thousands of phones is well under 1 MiB
MAX_ENTRIES = 200_000  # after inheritance: a chain of templates cannot blow memory up
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")
_HEADER = re.compile(r"^\[([^\]]*)\]\s*(?:\(([^)]*)\))?\s*$")
_DIRECTIVE = re.compile(r"^#\s*(include|tryinclude|exec)\s*(.*)$")


class ConfError(ValueError):
    """A file that is not Asterisk's configuration format, at `file`:`line`."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    line: int


@dataclass
class Section:
    name: str
    line: int
    template: bool = False
    bases: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)

    def all(self, key: str) -> list[Entry]:
        """Every entry of `key`, inherited ones first (repeated keys: `member`, `contact`)."""
        return [e for e in self.entries if e.key == key]

    def last(self, key: str) -> Entry | None:
        """The entry of `key` that wins for a single-valued option (the last one)."""
        found = self.all(key)
        return found[-1] if found else None

    def value(self, key: str, default: str = "") -> str:
        entry = self.last(key)
        return default if entry is None else entry.value


@dataclass(frozen=True)
class Directive:
    name: str  # include, tryinclude, exec
    argument: str
    line: int


@dataclass(frozen=True)
class ConfFile:
    file: str
    sections: tuple[Section, ...]  # in file order, templates too (`Section.template`)
    directives: tuple[Directive, ...]

    def objects(self) -> list[Section]:
        """The sections that are not templates: what Asterisk loads."""
        return [s for s in self.sections if not s.template]


def decode(data: bytes, file: str) -> str:
    """The file's text: UTF-8 only (a GBK file is refused with how to convert it)."""
    if len(data) > MAX_BYTES:
        raise ConfError(file, 1, f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not imported")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfError(
            file, line, "not UTF-8 text (a GBK file: iconv -f GBK -t UTF-8 first)"
        ) from None


def parse_conf(text: str, file: str) -> ConfFile:
    """Parse one file's text; raise ConfError naming the file and line of the first error."""
    if len(text) > MAX_BYTES:
        raise ConfError(file, 1, f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not imported")
    sections: list[Section] = []
    directives: list[Directive] = []
    by_name: dict[str, Section] = {}
    current: Section | None = None
    depth, opened = 0, 0  # nesting of ;-- --; block comments, the line the outer one opened
    total = 0
    for number, line_text in enumerate(text.split("\n"), start=1):  # lines as Asterisk counts
        raw = line_text.removesuffix("\r")
        if _CONTROL.search(raw):
            raise ConfError(file, number, "control character in the line")
        line, after = _strip_comments(raw, depth)
        opened = number if after and not depth else opened
        depth = after
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            directives.append(_directive(line, file, number))
        elif line.startswith("["):
            current = _header(line, file, number, by_name)
            if current is not by_name.get(current.name):  # not an addition (+)
                by_name.setdefault(current.name, current)
                sections.append(current)
                total += len(current.entries)  # inherited ones
        else:
            if current is None:
                raise ConfError(file, number, "a key before any [section]")
            current.entries.append(_entry(line, file, number))
            total += 1
        if total > MAX_ENTRIES:
            raise ConfError(file, number, f"more than {MAX_ENTRIES} entries: not imported")
    if depth:
        raise ConfError(file, opened, "a ;-- block comment opened here is never closed")
    return ConfFile(file, tuple(sections), tuple(directives))


def _strip_comments(raw: str, depth: int) -> tuple[str, int]:
    """The line without comments, and the block-comment depth after it."""
    if not depth and ";" not in raw:
        return raw, 0  # most lines: no comment at all
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw.startswith(";--", i):
            depth += 1
            i += 3
        elif depth and raw.startswith("--;", i):
            depth -= 1
            i += 3
        elif depth:
            i += 1
        elif raw.startswith("\\;", i):
            out.append(";")
            i += 2
        elif raw[i] == ";":
            break
        else:
            out.append(raw[i])
            i += 1
    return "".join(out), depth


def _directive(line: str, file: str, number: int) -> Directive:
    match = _DIRECTIVE.match(line)
    if not match or not match.group(2).strip():
        raise ConfError(file, number, f"unknown or empty directive {line[:40]!r}")
    return Directive(match.group(1), match.group(2).strip().strip('"<>'), number)


def _header(line: str, file: str, number: int, by_name: dict[str, Section]) -> Section:
    match = _HEADER.match(line)
    if not match:
        raise ConfError(file, number, "not a section header: [name] or [name](options)")
    name = match.group(1).strip()
    if not name:
        raise ConfError(file, number, "a section without a name")
    options = [o.strip() for o in (match.group(2) or "").split(",") if o.strip()]
    if "+" in options:
        existing = by_name.get(name)
        if existing is None:
            raise ConfError(file, number, f"[{name}](+) adds to a section never defined")
        return existing
    section = Section(name, number, template="!" in options)
    bases = tuple(o for o in options if o != "!")
    for base in bases:
        parent = by_name.get(base)
        if parent is None:
            raise ConfError(file, number, f"[{name}] inherits from {base!r}, not defined above")
        section.entries.extend(parent.entries)
    section.bases = bases
    return section


def _entry(line: str, file: str, number: int) -> Entry:
    key, sep, value = line.partition("=")
    if not sep:
        raise ConfError(file, number, "a line without '=' (key = value)")
    key = key.strip()
    value = value.removeprefix(">").strip()  # key => value
    if not key:
        raise ConfError(file, number, "a value without a key")
    return Entry(key, value, number)
