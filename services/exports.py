"""Spreadsheet cells that stay data: every xlsx/CSV the portal writes goes through `safe_cell`.

A cell starting with = + - @ (or a tab / carriage return followed by one) is a formula to Excel,
WPS and LibreOffice: `=HYPERLINK("http://x","y")` typed as a name became a live link in the
roster export. Such text is written with a leading apostrophe-quote character (') so it shows as
typed and is never evaluated (OWASP's advice for CSV injection). Numbers stay numbers.
"""
from __future__ import annotations

import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def safe_cell(value):
    """The value as a spreadsheet should store it: formula-like text quoted, anything else as is."""
    if is_formula_like(value):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe_cell(v) for v in row]


def csv_bytes(rows) -> bytes:
    """UTF-8 CSV (with BOM, for Excel) with every cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(safe_row(row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
