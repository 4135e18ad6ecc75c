"""The page as GB/T 9704-2012 draws it (millimetres unless a name says pt), and the small text
helpers both renderers use to lay out the header, the closing lines and tables."""
from __future__ import annotations

from itertools import pairwise

from services.documents.linebreak import split_units
from services.documents.model import OfficialDocument, format_date_cn

PAGE_W, PAGE_H = 210.0, 297.0
TOP, LEFT = 37.0, 28.0
BLOCK_W, BLOCK_H = 156.0, 225.0
RIGHT = PAGE_W - LEFT - BLOCK_W          # 26 mm
BOTTOM = PAGE_H - TOP - BLOCK_H          # 35 mm
BLOCK_BOTTOM = TOP + BLOCK_H             # 262 mm from the top edge
MM_PER_PT = 25.4 / 72

LINE_PT = 28.95                          # 22 lines in 225 mm (Word templates use 28.95 pt)
LINE = LINE_PT * MM_PER_PT
CHARS_PER_LINE = 28
CHAR = BLOCK_W / CHARS_PER_LINE          # grid pitch of one 16 pt character: 5.57 mm
BODY_PT = 16.0                           # 3号
TITLE_PT, TITLE_LINE_PT = 22.0, 35.0     # 2号
FOOT_PT = 14.0                           # 4号: page numbers and the copy-to block
TABLE_PT = 14.0
HEADER_PT = {"doc_number": 26.0, "bulletin": 36.0, "plain": 26.0}
HEADER_TOP = {"doc_number": 35.0, "bulletin": 0.0, "plain": 0.0}   # space above the red name (GB/T: 35 mm)
HEADER_MIN_STRETCH = 60                  # a long issuing body is narrowed to at most 60 %
PAGE_NUMBER_GAP = 7.0                    # rule: the "—" sits 7 mm under the text block
FOOTER_DISTANCE = 25.0                   # DOCX footer distance that puts the number there
RED = (0xC0, 0x00, 0x00)
RED_HEX = "C00000"


def addressee_line(addressee: str) -> str:
    a = (addressee or "").strip().rstrip(":：")
    return f"{a}：" if a else ""


def attachments_line(note: str) -> str:
    note = (note or "").strip()
    if not note:
        return ""
    return note if note.startswith("附件") else f"附件：{note}"


def copy_to_line(doc: OfficialDocument) -> str:
    units = [u.strip().rstrip("，,。") for u in doc.copy_to if u and u.strip()]
    return f"{doc.copy_to_label}：{'，'.join(units)}。" if units else ""


def printed_line(doc: OfficialDocument) -> tuple[str, str]:
    """版记 last line: the printing unit (left) and the printing date (right)."""
    return (doc.issuer or doc.issuing_body).strip(), f"{format_date_cn(doc.date)}印发"


def em_width(text: str) -> float:
    """Width in em as Word lays it out: Latin letters and digits about half a CJK character,
    plus the quarter-em gap Word/WPS/LibreOffice put between Chinese and Latin (autoSpace)."""
    narrow = [ord(c) < 0x2E80 and c not in "“”‘’—…·" for c in text]
    gaps = sum(1 for a, b in pairwise(narrow) if a != b)
    return sum(0.5 if n else 1.0 for n in narrow) + 0.25 * gaps


def body_paragraphs(text: str) -> list[str]:
    return [t.strip() for t in str(text).split("\n") if t.strip()]


def column_widths(rows: list[list[str]], width_of, avail: float, pad: float) -> list[float]:
    """Column widths that fill `avail`: each column gets at least its heading and its longest
    unbreakable run (a case number), and the rest goes where the text is longest."""
    ncols = len(rows[0])
    want = [max(width_of(r[c]) for r in rows) + pad for c in range(ncols)]
    # an unbreakable run claims at most an equal share of the line: a 60-character URL once
    # squeezed the other columns below one character, and fpdf2 then looped for ever
    share = max((avail - ncols * pad) / ncols, 0.0)
    floor = [max([width_of(rows[0][c])] + [min(width_of(u), share) for r in rows for u in split_units(r[c])
                                            if len(u) > 1]) + pad for c in range(ncols)]
    floor = [min(f, w) for f, w in zip(floor, want)]
    if sum(want) <= avail:
        return [w * avail / sum(want) for w in want]
    spare = avail - sum(floor)
    if spare <= 0:
        return [f * avail / sum(floor) for f in floor]
    grow = [w - f for w, f in zip(want, floor)]
    return [f + spare * g / sum(grow) for f, g in zip(floor, grow)]

