"""Spreadsheet cells that stay data: every xlsx/CSV the portal writes goes through `safe_cell`.

A cell starting with = + - @ (or a tab / carriage return followed by one) is a formula to Excel,
WPS and LibreOffice: `=HYPERLINK("http://x","y")` typed as a name became a live link in the
roster export. Such text is written with a leading apostrophe-quote character (') so it shows as
typed and is never evaluated (OWASP's advice for CSV injection). Numbers stay numbers.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from services import clock

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


# ------------------------------------------------------------------ list exports (services.listing)
NUMBER_FORMATS = {"int": "#,##0", "decimal": "#,##0.0", "percent": "0.0%", "yuan": "#,##0.00",
                  "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
NUMERIC = ("int", "decimal", "percent", "yuan")


_UNSAFE_IN_NAME = re.compile(r"[\\/:*?\"<>|\s]")


def list_filename(name: str, on: dt.date) -> str:
    """The file of a list export: the list's name and the day, e.g. 案件列表_20240506.xlsx."""
    return f"{_UNSAFE_IN_NAME.sub('', name)}_{on:%Y%m%d}.xlsx"


def file_cell(fmt: str, value):
    """A value as the file stores it: numbers and dates as such (formatted by the column), text
    neutralised (a leading = + - @ never becomes a formula), lists joined with 、."""
    if value is None or value == "":
        return None
    if fmt in NUMERIC and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value) if isinstance(value, Decimal) else value
    if fmt == "datetime" and isinstance(value, dt.datetime):
        return clock.local(value).replace(tzinfo=None) if value.tzinfo else value  # Excel has no zones: Beijing
    if fmt in ("date", "datetime") and isinstance(value, dt.date):
        return value
    if isinstance(value, (list, tuple)):
        value = "、".join(str(v) for v in value)
    return safe_cell(str(value))


def list_workbook(sheet: str, title: str, columns, rows) -> tuple[bytes, int]:
    """One sheet: the title line (bold), the header, then a row per item with each column's
    number format. Returns the file and how many rows it holds."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([None])
    ws.append(safe_row([c.header for c in columns]))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    n = 0
    formatted = [(i, NUMBER_FORMATS[c.format]) for i, c in enumerate(columns, start=1) if c.format in NUMBER_FORMATS]
    for row in rows:
        ws.append([file_cell(c.format, row.get(c.field)) for c in columns])
        n += 1
        # the row just appended, by its index: ws.max_row scans every cell, which made an export
        # of the 5,000-case list take a minute (quadratic)
        for i, number_format in formatted:
            cell = ws.cell(row=n + 2, column=i)
            if not isinstance(cell.value, str):
                cell.number_format = number_format
    ws["A1"] = safe_cell(title.replace("{rows}", f"{n:,}"))
    ws["A1"].font = Font(bold=True)
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = max(10, len(c.header) * 2 + 2)
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), n
