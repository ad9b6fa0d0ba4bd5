"""CSV cells a spreadsheet would evaluate are kept as text (OWASP's CSV-injection advice)."""

import csv
import io

import pytest

from crm.api.spreadsheet import csv_rows, safe_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"), ("+8613812345678", "'+8613812345678"), ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
        ("张三", "张三"), ("1+1", "1+1"), ("", ""), ("a=b", "a=b"), (7, 7),
    ],
)  # fmt: skip
def test_safe_cell(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_rows_read_back_with_the_quote() -> None:
    text = csv_rows([["=cmd|' /C calc'!A0", "市民, \"老王\""]])
    assert list(csv.reader(io.StringIO(text))) == [["'=cmd|' /C calc'!A0", '市民, "老王"']]
