"""What an import of an Asterisk's files could not map, line by line, and the validation of
what it did map by the settings' own models (a refusal names the field, never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from config.asterisk_conf import Entry, Section

Kind = Literal["own", "unmapped", "assumed", "invalid"]
M = TypeVar("M", bound=BaseModel)
SECRET_KEYS = frozenset({"password", "md5_cred", "secret"})  # never shown in the report


@dataclass(frozen=True)
class Finding:
    """One line of the report. `own`: a value the centre renders itself (dropped);
    `unmapped`: in the file, not in the centre's model (lost);
    `assumed`: mapped with a guess or a default the admin should check; `invalid`: refused
    by the settings' models (the field and why)."""

    file: str
    line: int
    kind: Kind
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.text}"


@dataclass
class Findings:
    file: str
    items: list[Finding] = field(default_factory=list)

    def add(self, line: int, kind: Kind, text: str) -> None:
        self.items.append(Finding(self.file, line, kind, text))

    def entry(self, section: Section, entry: Entry, kind: Kind, text: str) -> None:
        value = "********" if entry.key in SECRET_KEYS else entry.value
        self.add(entry.line, kind, f"[{section.name}] {entry.key} = {value}: {text}")

    def section(self, section: Section, kind: Kind, text: str) -> None:
        self.add(section.line, kind, f"[{section.name}]: {text}")


def validated(
    model: type[M],
    data: dict[str, Any],
    lines: dict[str, int],
    label: str,
    findings: Findings,
) -> M | None:
    """`data` as a `model`, or None. A field with a default that the model refuses is dropped
    (the default used) and reported; a refused required field leaves the item out, reported.
    `lines` gives each field's line in the file."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    required_failed = False
    for error in errors:
        name = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        where = lines.get(name, lines.get("", 0))
        shown = "" if "password" in name else f" {str(error.get('input'))[:60]!r}"
        info = model.model_fields.get(name)
        if info is not None and not info.is_required() and name in data:
            data = {k: v for k, v in data.items() if k != name}
            findings.add(where, "invalid", f"{label}.{name}{shown}: {message}: default used")
        else:
            required_failed = True
            findings.add(where, "invalid", f"{label}.{name}{shown}: {message}: not imported")
    if required_failed:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:  # a cross-field check the dropped field did not cure
        findings.add(lines.get("", 0), "invalid", f"{label}: {exc.errors()[0]['msg']}")
        return None
