"""Pure functions that make untrusted text safe to put on an AGI command line.

An AGI command is one line; Asterisk's ``parse_args`` (res_agi.c) splits it on blanks,
honours double quotes and lets a backslash escape the next character. A caller ID or any
other outside value is therefore cleaned (control characters and line breaks removed, length
capped) and then quoted with ``"`` and ``\\`` escaped, so it always arrives as exactly one
argument and can never end the command or start another one.
"""

import re
import unicodedata

MAX_VALUE_CHARS = 256
"""Longest value we ever send (characters). Asterisk reads an AGI command into a 2 KiB
buffer; 256 CJK characters are 768 bytes of UTF-8, plus escaping, so we stay well inside."""

DTMF_KEYS = frozenset("0123456789*#")

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
_DIALPLAN_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,80}")
# Cc: C0/C1 controls (CR, LF, NUL, ESC, NEL …); Cs: lone surrogates that cannot be encoded;
# Zl/Zp: Unicode line and paragraph separators, which would split log lines.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def clean_text(value: str, max_chars: int = MAX_VALUE_CHARS) -> str:
    """Remove control characters and line breaks, then cap the length.

    Tabs become spaces instead of vanishing, so words stay apart.
    """
    kept = (
        " " if ch == "\t" else ch
        for ch in value
        if ch == "\t" or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    return "".join(kept)[:max_chars]


def quote_arg(value: str, max_chars: int = MAX_VALUE_CHARS) -> str:
    """Return ``value`` cleaned and double-quoted for an AGI command line.

    Escaping happens after the cap, so a cut can never leave a dangling backslash.
    """
    cleaned = clean_text(value, max_chars)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_trusted(value: str) -> str:
    """Quote a value our own code chose (a sound file path): refuse it rather than alter it.

    Silently cutting or stripping a file name would play the wrong file; a name that needs
    cleaning is a bug and raises ``ValueError``.
    """
    if clean_text(value) != value:
        raise ValueError(f"argument has control characters or is too long: {value!r}")
    return quote_arg(value)


def clean_dtmf(value: str | None) -> str:
    """Return ``value`` if it is made only of DTMF keys (0-9 * #), otherwise ``""``.

    Anything else is treated as no input rather than filtered, so that garbage from the
    channel can never be read as a valid choice.
    """
    if not value or any(ch not in DTMF_KEYS for ch in value):
        return ""
    return value


def check_variable_name(name: str) -> str:
    """Return ``name`` if it is a plain channel variable name; raise ``ValueError`` otherwise.

    Names come from our code, never from callers: a bad one is a bug, so it fails loudly
    instead of being silently rewritten (``X(foo)`` would call a dialplan function).
    """
    if not _VARIABLE_NAME.fullmatch(name):
        raise ValueError(f"not a plain channel variable name: {name!r}")
    return name


def check_dialplan_token(value: str) -> str:
    """Return ``value`` if it is safe to expand bare inside a dialplan application call.

    ``Queue(${HOTLINE_QUEUE})`` substitutes the variable before splitting the arguments, so a
    comma, pipe or ``$`` in a queue name would add options or expand other variables. Only
    letters, digits, ``_ . -`` are accepted; raise ``ValueError`` otherwise.
    """
    if not _DIALPLAN_TOKEN.fullmatch(value):
        raise ValueError(f"not a safe dialplan token (use [A-Za-z0-9_.-], 1-80): {value!r}")
    return value
