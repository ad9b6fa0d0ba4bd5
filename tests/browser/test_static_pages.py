"""The desktop pages' sources: text-only DOM updates, nothing fetched from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_gateway.desk.http import STATIC

SOURCES = sorted(p for p in STATIC.iterdir() if p.suffix in {".html", ".js", ".css"})
# Ways of turning a string into markup or code; the pages insert server data as text only.
UNSAFE_JS = re.compile(
    r"\b(?:innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval|Function)\s*[(=]"
    r"|createContextualFragment|\bsrcdoc\b"
)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_pages_and_scripts_are_there() -> None:
    names = {p.name for p in SOURCES}
    pages = {"agent.html", "supervisor.html", "agent.js", "supervisor.js", "order.js"}
    pages |= {"admin.html", "admin.js"}
    shared = {"desk.js", "labels.js", "dom.js", "connection.js"}
    assert pages | shared <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_markup_or_code_is_built_from_strings(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [m.group(0) for m in UNSAFE_JS.finditer(text)]
    if path.suffix == ".html":
        found += INLINE_HANDLER.findall(text)  # the CSP forbids inline script anyway
        assert "script-src 'self'" in text, "the page lost its Content-Security-Policy"
    assert not found, f"{found} in {path.name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_nothing_is_loaded_from_another_host(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    remote = re.findall(r"""(?:src|href|url\()\s*=?\s*["']?\s*(?:https?:)?//""", text)
    imports = re.findall(r"""\bimport\b[^;]*?from\s*["'](?!\./)""", text)
    assert not remote and not imports, (remote, imports)
