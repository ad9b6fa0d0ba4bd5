"""CSV that spreadsheets open safely: no cell runs as a formula, Chinese text reads right.

Caller names come from SIP display names, which callers choose: a name like
`=HYPERLINK(...)` or `@SUM(...)` would run when a clerk opens the export in Excel. Following
OWASP's advice on CSV injection, a text cell starting with `=`, `+`, `-`, `@`, TAB or CR gets
a leading `'`, which spreadsheets hide and which keeps the cell text. Phone numbers may start
with `+` (`+86...`): they are quoted too, which also stops Excel turning them into numbers.
Excel takes a CSV without byte-order mark for the local ANSI code page, so the file starts
with one (UTF-8 BOM).
"""

import csv
import io
from collections.abc import Iterable

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet will not evaluate; other values as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(rows: Iterable[Iterable[object]]) -> str:
    """The rows as CSV text (CRLF line ends, as the CSV RFC and Excel expect), cells made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
