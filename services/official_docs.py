"""Official documents (公文): risk notices, supervision orders and work bulletins as DOCX and PDF.

The layout follows GB/T 9704-2012 (党政机关公文格式), which is what staff compare a printout with:
A4, top margin 37 mm, left 28 mm, a 156 x 225 mm text block of 22 lines x 28 characters; the
issuing body in red, the document number and a red rule (版头); a 22 pt title; the addressee
flush left; 16 pt 仿宋 body with a two-character first-line indent; issuer and date four
characters in from the right; page numbers "— 1 —" (odd pages right, even pages left); the
copy-to block (版记) at the foot of the last page.

Wording lives outside the code in `templates/official/<kind>.json`; `fill_template()` turns a
template and a dict of values into an `OfficialDocument`; `render_docx()` / `render_pdf()` print
it. Pure Python: no database, no streamlit. See docs/official-documents.md.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import string
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Twips
from fpdf import FPDF
from fpdf.enums import TableCellFillMode, WrapMode
from fpdf.fonts import FontFace
from lxml import etree

from services import clock
from services.errors import DomainError

__all__ = [
    "Block", "OfficialDocument", "OfficialDocError", "FontMissing", "KINDS",
    "render_docx", "render_pdf", "load_template", "fill_template", "template_fields",
    "format_date_cn",
]

# --------------------------------------------------------------------------------------------
# Geometry (GB/T 9704-2012). Millimetres unless the name says pt.
# --------------------------------------------------------------------------------------------
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
HEADER_PT = {"doc_number": 26.0, "bulletin": 36.0}
HEADER_TOP = {"doc_number": 35.0, "bulletin": 0.0}   # space above the red name (GB/T: 35 mm)
HEADER_MIN_STRETCH = 60                  # a long issuing body is narrowed to at most 60 %
PAGE_NUMBER_GAP = 7.0                    # rule: the "—" sits 7 mm under the text block
FOOTER_DISTANCE = 25.0                   # DOCX footer distance that puts the number there
RED = (0xC0, 0x00, 0x00)
RED_HEX = "C00000"

HEADER_STYLES = ("doc_number", "bulletin")
BLOCK_KINDS = ("p", "h1", "h2", "h3", "table")
KINDS = ("risk_notice", "supervision_order", "bulletin", "meeting_minutes")

# Font names printed into the DOCX (government PCs have them); PDFs embed Noto CJK instead.
FONT_TITLE = "方正小标宋简体"
FONT_BODY = "仿宋_GB2312"
FONT_H1 = "黑体"
FONT_H2 = "楷体_GB2312"
FONT_PAGE_NO = "宋体"
FONT_LATIN = "Times New Roman"
# fontTable alternatives Word/WPS use when the named face is not installed.
FONT_ALT_NAMES = {FONT_TITLE: "宋体", FONT_BODY: "仿宋", FONT_H2: "楷体", FONT_H1: "SimHei",
                  FONT_PAGE_NO: "SimSun"}


class OfficialDocError(DomainError, ValueError):
    """A document or template that cannot be printed; the message says what to fix."""


class FontMissing(DomainError, RuntimeError):
    """No Chinese font on the server: PDFs cannot be made until fonts-noto-cjk is installed."""


@dataclass
class Block:
    kind: str   # "p", "h1" (一、), "h2" ((一)), "h3" (1.), "table"
    text: str = ""
    rows: list[list[str]] | None = None


@dataclass
class OfficialDocument:
    issuing_body: str
    doc_number: str
    title: str
    addressee: str
    body: list[Block]
    issuer: str
    date: dt.date
    copy_to: list[str] = field(default_factory=list)
    attachments_note: str = ""
    # "doc_number": red issuing body, document number under it, red rule (letters, orders).
    # "bulletin": red publication name (e.g. 工作专报), doc_number holds the issue ("第16期"),
    # then a line "issuer ... date" above the red rule; no signature at the end.
    header_style: str = "doc_number"
    copy_to_label: str = "抄送"          # bulletins use e.g. "报送"


def format_date_cn(d: dt.date) -> str:
    """2026-12-06 -> '2026年12月6日' (Arabic numerals, no leading zeros, as GB/T 9704 asks)."""
    return f"{d.year}年{d.month}月{d.day}日"


# --------------------------------------------------------------------------------------------
# Checks and small text helpers shared by both renderers
# --------------------------------------------------------------------------------------------
def _check(doc: OfficialDocument) -> None:
    problems = []
    for name, label in (("issuing_body", "发文机关标志"), ("title", "标题")):
        if not str(getattr(doc, name) or "").strip():
            problems.append(f"{label}不能为空")
    if doc.header_style not in HEADER_STYLES:
        problems.append(f"版头样式“{doc.header_style}”无效，应为 doc_number 或 bulletin")
    if doc.header_style == "doc_number" and not str(doc.issuer or "").strip():
        problems.append("发文机关署名不能为空")
    if not isinstance(doc.date, dt.date):
        problems.append("成文日期必须是日期")
    for i, b in enumerate(doc.body, 1):
        if b.kind not in BLOCK_KINDS:
            problems.append(f"正文第{i}段的类型“{b.kind}”无效，应为 p、h1、h2、h3 或 table")
        elif b.kind == "table" and not b.rows:
            problems.append(f"正文第{i}段是表格，但没有行")
    if problems:
        raise OfficialDocError("公文内容有误：" + "；".join(problems) + "。")


def _addressee_line(addressee: str) -> str:
    a = (addressee or "").strip().rstrip(":：")
    return f"{a}：" if a else ""


def _attachments_line(note: str) -> str:
    note = (note or "").strip()
    if not note:
        return ""
    return note if note.startswith("附件") else f"附件：{note}"


def _copy_to_line(doc: OfficialDocument) -> str:
    units = [u.strip().rstrip("，,。") for u in doc.copy_to if u and u.strip()]
    return f"{doc.copy_to_label}：{'，'.join(units)}。" if units else ""


def _printed_line(doc: OfficialDocument) -> tuple[str, str]:
    """版记 last line: the printing unit (left) and the printing date (right)."""
    return (doc.issuer or doc.issuing_body).strip(), f"{format_date_cn(doc.date)}印发"


def _em(text: str) -> float:
    """Width in em as Word lays it out: Latin letters and digits about half a CJK character,
    plus the quarter-em gap Word/WPS/LibreOffice put between Chinese and Latin (autoSpace)."""
    narrow = [ord(c) < 0x2E80 and c not in "“”‘’—…·" for c in text]
    gaps = sum(1 for a, b in zip(narrow, narrow[1:]) if a != b)
    return sum(0.5 if n else 1.0 for n in narrow) + 0.25 * gaps


def _body_paragraphs(text: str) -> list[str]:
    return [t.strip() for t in str(text).split("\n") if t.strip()]


_GOOD_BREAK_AFTER = set("的”》）、，：；与和及暨")


def _balanced_title_lines(title: str, width_of, avail: float) -> list[str]:
    """Lines of a title. GB/T 9704 asks that a long title break where the sense allows and
    that the lines be balanced, so: n lines of similar width, each break preferring a point
    after 的 / ” / 》 / 、 etc. within four characters of the ideal. A title with explicit
    line breaks ("\n") keeps them."""
    if "\n" in title:
        return [t.strip() for t in title.split("\n") if t.strip()]
    units = _units(title)
    widths = [width_of(u) for u in units]
    total = sum(widths)
    if total <= avail:
        return [title]
    em = width_of("国")
    if total > 4 * avail:  # no real title is that long: plain greedy lines, not an O(n²) search
        return ["".join(line) for line in _wrap(units, avail, avail, width_of)]
    for n in range(math.ceil(total / avail), len(units) + 1):
        lines, start, left = [], 0, total
        for line_no in range(n - 1):
            target = left / (n - line_no)
            best, best_score, acc = None, None, 0.0
            for k in range(start, len(units) - 1):
                acc += widths[k]
                if acc > avail + 1e-6:
                    break
                if acc < target - 4 * em:
                    continue
                if acc > target + 4 * em:
                    break
                score = abs(acc - target) / em
                score += 0 if units[k][-1] in _GOOD_BREAK_AFTER else 4
                if units[k + 1][0] in _NO_LINE_START or units[k][-1] in _NO_LINE_END:
                    score += 100
                if best_score is None or score < best_score:
                    best, best_score = k, score
            if best is None:
                break
            lines.append("".join(units[start:best + 1]))
            left -= sum(widths[start:best + 1])
            start = best + 1
        else:
            if left <= avail + 1e-6:
                return lines + ["".join(units[start:])]
    return ["".join(line) for line in _wrap(units, avail, avail, width_of)]


# --------------------------------------------------------------------------------------------
# Line breaking for the PDF (Word and WPS break lines themselves in the DOCX)
# --------------------------------------------------------------------------------------------
_NO_LINE_START = set("，。、；：！？）》」』”’】〕〗〉…·%‰℃,.;:!?)]}")
_NO_LINE_END = set("（《「『“‘【〔〖〈([{")
# a case number such as 丰-2026-000002 (one CJK prefix character, then a Latin run) is one unit
_UNIT = re.compile(r"[\u3400-\u9fff]-[A-Za-z0-9][A-Za-z0-9@#&_+\-./%:]*|[A-Za-z0-9@#&_+\-./%:]+|\s+|.", re.S)


def _units(text: str) -> list[str]:
    """Break opportunities: every CJK character, whole runs of Latin letters and digits, whole
    case numbers."""
    return _UNIT.findall(text)


def _wrap(units: list[str], first: float, rest: float, width_of) -> list[list[str]]:
    """Greedy line breaking with the usual Chinese rules (禁则): no closing punctuation at the
    start of a line, no opening bracket at the end; over-long Latin runs are split."""
    expanded: list[str] = []
    for u in units:
        expanded.extend(list(u) if len(u) > 1 and width_of(u) > rest else [u])
    lines: list[list[str]] = []
    cur: list[str] = []
    cur_w, avail = 0.0, first
    for u in expanded:
        w = width_of(u)
        if cur and cur_w + w > avail + 1e-6:
            carry: list[str] = []
            if u[0] in _NO_LINE_START:
                while len(cur) > 1:
                    carry.insert(0, cur.pop())
                    if carry[0][0] not in _NO_LINE_START:
                        break
            while len(cur) > 1 and cur[-1][-1] in _NO_LINE_END:
                carry.insert(0, cur.pop())
            while cur and cur[-1].isspace():
                cur.pop()
            lines.append(cur)
            cur = [c for c in carry]
            cur_w, avail = sum(width_of(c) for c in cur), rest
            if not cur and u.isspace():
                continue
        cur.append(u)
        cur_w += w
    if cur:
        lines.append(cur)
    return lines or [[]]


# --------------------------------------------------------------------------------------------
# Fonts for the PDF: Noto CJK found through fontconfig, cached per process
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Face:
    path: str
    index: int = 0


_FONT_INSTALL_HINT = (
    "未找到可用的中文字体（Noto CJK），无法生成 PDF 公文。"
    "请运维人员在服务器上安装中文字体：apt-get install -y fonts-noto-cjk，然后重试。"
)
# Used only when fc-list itself is missing; Debian/Ubuntu paths of fonts-noto-cjk.
_KNOWN_FONT_FILES = {
    "song": [("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2)],
    "song_bold": [("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2)],
    "hei": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
            ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)],
}


def _fc_list() -> list[tuple[str, int, str, str]]:
    """(file, face index, families, style) of every font fontconfig knows with Chinese."""
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "--format", "%{file}\t%{index}\t%{family}\t%{style}\n"],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0]:
            try:
                rows.append((parts[0], int(parts[1] or 0), parts[2], parts[3]))
            except ValueError:
                continue
    return rows


def _pick(rows, family_words: tuple[str, ...], bold: bool | None, avoid=("Mono",)):
    for word in family_words:
        for path, index, families, style in sorted(rows):
            if word.lower() not in families.lower() or any(a in families for a in avoid):
                continue
            is_bold = "bold" in style.lower() or "粗" in style
            if bold is None or is_bold == bold:
                return _Face(path, index)
    return None


@lru_cache(maxsize=1)
def cjk_faces() -> dict[str, _Face]:
    """Font file and face per role: song (仿宋 stand-in), song_bold (小标宋), hei (黑体), kai (楷体).

    Noto CJK .ttc files hold several faces; the Simplified Chinese one is chosen by its family
    name "… CJK SC". Raises FontMissing (Chinese message) when no Chinese font is installed.
    """
    rows = _fc_list()
    faces: dict[str, _Face | None] = {
        "song": _pick(rows, ("Noto Serif CJK SC", "Source Han Serif SC", "Serif CJK", "Song", "宋"), False),
        "song_bold": _pick(rows, ("Noto Serif CJK SC", "Source Han Serif SC", "Serif CJK"), True),
        "hei": _pick(rows, ("Noto Sans CJK SC", "Source Han Sans SC", "Sans CJK", "Hei", "黑"), True)
        or _pick(rows, ("Noto Sans CJK SC", "Source Han Sans SC", "Sans CJK", "Hei", "黑"), None),
        "kai": _pick(rows, ("Kai", "楷"), None),
    }
    if faces["song"] is None:
        faces["song"] = _pick(rows, ("CJK SC", "CJK", ""), None)
    for role, candidates in _KNOWN_FONT_FILES.items():
        if faces.get(role) is None:
            faces[role] = next((_Face(p, i) for p, i in candidates if os.path.exists(p)), None)
    if faces["song"] is None:
        raise FontMissing(_FONT_INSTALL_HINT)
    faces["song_bold"] = faces["song_bold"] or faces["song"]
    faces["hei"] = faces["hei"] or faces["song_bold"]
    faces["kai"] = faces["kai"] or faces["song"]
    return {k: v for k, v in faces.items() if v is not None}


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------
def render_pdf(doc: OfficialDocument) -> bytes:
    """The document as an A4 PDF with embedded Noto CJK faces (about 1 s: font loading and
    subsetting dominate)."""
    _check(doc)
    return _PdfWriter(doc, cjk_faces()).render()


class _OfficialFPDF(FPDF):
    writer: "_PdfWriter"

    def footer(self):  # called by fpdf2 at the end of every page
        self.writer.page_number()


class _PdfWriter:
    def __init__(self, doc: OfficialDocument, faces: dict[str, _Face]):
        self.doc = doc
        self.faces = faces
        self.pdf = _OfficialFPDF(orientation="P", unit="mm", format="A4")
        self.pdf.writer = self
        self.pdf.set_margins(LEFT, TOP, RIGHT)
        self.pdf.set_auto_page_break(False)
        self.pdf.c_margin = 0
        self.pdf.set_title(doc.title)
        self.pdf.set_author(doc.issuer or doc.issuing_body)
        self.pdf.set_creator("丰城市母舅调解平台")
        self.pdf.set_lang("zh-CN")
        self._families: dict[_Face, str] = {}
        self._widths: dict[tuple[str, float], dict[str, float]] = {}
        self.y = TOP

    # fonts -----------------------------------------------------------------------------
    def font(self, role: str, size: float) -> str:
        face = self.faces[role]
        family = self._families.get(face)
        if family is None:
            family = f"cjk{len(self._families)}"
            kwargs = {}
            if face.path.lower().endswith((".ttc", ".otc")):
                kwargs["collection_font_number"] = face.index
            self.pdf.add_font(family, "", face.path, **kwargs)
            # Subsetting a CFF face recomputes every glyph's bounds (~0.3 s per face); the PDF
            # only needs the font-wide box, which the original values cover.
            self.pdf.fonts[family].ttfont.recalcBBoxes = False
            self._families[face] = family
        self.pdf.set_font(family, "", size)
        return family

    def width_fn(self, role: str, size: float, spacing_pt: float = 0.0):
        family = self.font(role, size)
        cache = self._widths.setdefault((family, size), {})
        spacing = spacing_pt * MM_PER_PT

        def width(u: str) -> float:
            w = cache.get(u)
            if w is None:
                self.pdf.set_char_spacing(0)
                self.pdf.set_stretching(100)
                w = cache[u] = self.pdf.get_string_width(u)
            return w + spacing * len(u)

        return width

    # flow ------------------------------------------------------------------------------
    def new_page(self):
        self.pdf.add_page()
        self.y = TOP

    def ensure(self, height: float):
        if self.y + height > BLOCK_BOTTOM + 0.05:
            self.new_page()

    def skip_lines(self, n: float = 1):
        self.y += n * LINE
        if self.y > BLOCK_BOTTOM:
            self.new_page()

    def draw(self, text: str, x: float, w: float, h: float, align: str = "L",
             spacing_pt: float = 0.0, stretch: float = 100):
        self.pdf.set_stretching(stretch)
        self.pdf.set_char_spacing(spacing_pt)
        self.pdf.set_xy(x, self.y)
        self.pdf.cell(w=w, h=h, text=text, align=align)
        self.pdf.set_char_spacing(0)
        self.pdf.set_stretching(100)

    def paragraph(self, text: str, role: str = "song", size: float = BODY_PT, *,
                  first: float = 2 * CHAR, rest: float = 0.0, right: float = 0.0,
                  line_h: float = LINE, align: str = "J", keep_with_next: int = 0):
        """Lay out one paragraph on the grid; `first`/`rest` are indents in mm."""
        # a 16 pt character is 5.64 mm; the grid has 28 characters in 156 mm (5.57 mm)
        spacing_pt = (CHAR - BODY_PT * MM_PER_PT) / MM_PER_PT if size == BODY_PT else 0.0
        width = self.width_fn(role, size, spacing_pt)
        lines = _wrap(_units(text), BLOCK_W - first - right, BLOCK_W - rest - right, width)
        for i, units in enumerate(lines):
            self.ensure(line_h * (1 + (keep_with_next if i == len(lines) - 1 else 0)))
            indent = first if i == 0 else rest
            avail = BLOCK_W - indent - right
            s = "".join(units)
            extra_pt = 0.0
            if align == "J" and i < len(lines) - 1 and len(s) > 1:
                slack = avail - sum(width(u) for u in units)
                if 0 < slack < 3 * CHAR:
                    extra_pt = slack / (len(s) - 1) / MM_PER_PT
            self.font(role, size)
            self.draw(s, LEFT + indent, avail, line_h, "L" if align == "J" else align,
                      spacing_pt + extra_pt)
            self.y += line_h

    def rule(self, y: float, width: float, color=(0, 0, 0)):
        self.pdf.set_draw_color(*color)
        self.pdf.set_line_width(width)
        self.pdf.line(LEFT, y, LEFT + BLOCK_W, y)
        self.pdf.set_draw_color(0, 0, 0)

    # parts -----------------------------------------------------------------------------
    def render(self) -> bytes:
        self.new_page()
        self.header()
        self.title_and_addressee()
        for block in self.doc.body:
            self.block(block)
        note = _attachments_line(self.doc.attachments_note)
        if note:
            self.skip_lines(1)
            self.paragraph(note, first=2 * CHAR, rest=5 * CHAR, align="L")
        if self.doc.header_style == "doc_number":
            self.signature()
        self.imprint()
        return bytes(self.pdf.output())

    def fitted_header(self, text: str, size: float) -> tuple[float, float, float]:
        """(size, stretch %, letter spacing pt) that keep the red name inside the text block."""
        self.font("song_bold", size)
        width = self.width_fn("song_bold", size)(text)
        if len(text) <= 6:   # short names (工作专报) are spaced out a little, as printed ones are
            spacing = size * 0.25
            if width + spacing * MM_PER_PT * (len(text) - 1) <= BLOCK_W:
                return size, 100, spacing
        if width <= BLOCK_W:
            return size, 100, 0.0
        stretch = math.floor(BLOCK_W / width * 100)
        if stretch >= HEADER_MIN_STRETCH:
            return size, stretch, 0.0
        return size * BLOCK_W / width / (HEADER_MIN_STRETCH / 100) * 0.99, HEADER_MIN_STRETCH, 0.0

    def header(self):
        doc, pdf = self.doc, self.pdf
        style = doc.header_style
        size, stretch, spacing = self.fitted_header(doc.issuing_body, HEADER_PT[style])
        size_mm = size * MM_PER_PT
        self.y = TOP + HEADER_TOP[style] - 0.1 * size_mm
        pdf.set_text_color(*RED)
        self.font("song_bold", size)
        self.draw(doc.issuing_body, LEFT, BLOCK_W, 1.2 * size_mm, "C", spacing, stretch)
        pdf.set_text_color(0, 0, 0)
        self.y += 1.2 * size_mm
        if style == "doc_number":
            self.y += 2 * LINE - 0.2 * size_mm       # 发文字号: two blank lines under the name
            if doc.doc_number:
                self.font("song", BODY_PT)
                self.draw(doc.doc_number, LEFT, BLOCK_W, LINE, "C")
            self.y += LINE
            rule_y = self.y + 1.0                    # red rule 4 mm under the number's glyphs
            self.rule(rule_y, 0.55, RED)
            self.y = rule_y + 2 * LINE - 4.0         # title: two blank lines under the rule
        else:
            if doc.doc_number:
                self.font("song", BODY_PT)
                self.draw(doc.doc_number, LEFT, BLOCK_W, LINE, "C")
                self.y += LINE
            self.y += 0.3 * LINE
            left, right = doc.issuer.strip(), format_date_cn(doc.date)
            size = BODY_PT
            while size > 10.5 and _em(left) * size * MM_PER_PT + _em(right) * size * MM_PER_PT + 2 * CHAR > BLOCK_W:
                size -= 0.5
            self.font("song", size)
            if left:
                self.draw(left, LEFT, BLOCK_W, LINE, "L")
            self.draw(right, LEFT, BLOCK_W, LINE, "R")
            self.y += LINE
            rule_y = self.y + 1.0
            self.rule(rule_y, 0.8, RED)
            self.y = rule_y + LINE

    def title_and_addressee(self):
        size = TITLE_PT
        title_h = TITLE_LINE_PT * MM_PER_PT
        width = self.width_fn("song_bold", size)
        for line in _balanced_title_lines(self.doc.title.strip(), width, BLOCK_W):
            self.ensure(title_h)
            self.font("song_bold", size)
            self.draw(line, LEFT, BLOCK_W, title_h, "C")
            self.y += title_h
        self.skip_lines(1)
        addressee = _addressee_line(self.doc.addressee)
        if addressee:
            self.paragraph(addressee, first=0, rest=0, align="L")

    def block(self, b: Block):
        if b.kind == "table":
            self.table(b.rows or [])
            return
        role = {"p": "song", "h1": "hei", "h2": "kai", "h3": "song"}[b.kind]
        for text in _body_paragraphs(b.text):
            self.paragraph(text, role, keep_with_next=1 if b.kind != "p" else 0)

    def table(self, rows: list[list[str]]):
        pdf = self.pdf
        ncols = max(len(r) for r in rows)
        rows = [[str(c) for c in r] + [""] * (ncols - len(r)) for r in rows]
        pad = 2.0
        head_w = self.width_fn("hei", TABLE_PT)
        cell_w = self.width_fn("song", TABLE_PT)
        widths = _column_widths(rows, lambda t: max(head_w(t), cell_w(t)), BLOCK_W, 2 * pad)
        # break lines here (Chinese rules, case numbers kept whole); fpdf2 only draws them
        line_h = TABLE_PT * MM_PER_PT * 1.45
        # a row must fit on one page (fpdf2 refuses taller rows): longer cells are cut, visibly
        max_lines = max(int((BLOCK_BOTTOM - TOP - 3 * line_h) / line_h) - 2, 3)
        text = [[_fit_lines(c, w - 2 * pad, head_w if i == 0 else cell_w, max_lines)
                 for c, w in zip(r, widths)] for i, r in enumerate(rows)]
        hei = self.font("hei", TABLE_PT)
        song = self.font("song", TABLE_PT)
        self.ensure(2 * LINE)
        pdf.set_y(self.y + 0.3 * LINE)
        pdf.set_auto_page_break(True, margin=BOTTOM)
        pdf.set_line_width(0.25)
        with pdf.table(
            width=BLOCK_W, col_widths=widths, text_align="CENTER", v_align="MIDDLE",
            wrapmode=WrapMode.CHAR, line_height=line_h,
            padding=(1.2, pad), headings_style=FontFace(family=hei, size_pt=TABLE_PT),
            cell_fill_mode=TableCellFillMode.NONE, repeat_headings=1,
        ) as table:
            for r in text:
                row = table.row()
                for c in r:
                    row.cell(c)
        pdf.set_auto_page_break(False)
        pdf.set_font(song, "", BODY_PT)
        self.y = pdf.get_y() + 0.3 * LINE
        if self.y > BLOCK_BOTTOM:
            self.new_page()

    def signature(self):
        """Issuer centred over the date; the date four characters in from the right."""
        doc = self.doc
        date = format_date_cn(doc.date)
        issuer = doc.issuer.strip()
        # Two blank lines leave room for the seal; fewer when that would push issuer and date
        # alone onto a new page (GB/T 9704 asks to keep them with the text).
        room = int((BLOCK_BOTTOM + 0.05 - self.y) // LINE)
        if room >= 2:
            self.y += min(2, room - 2) * LINE
        else:
            self.new_page()
        width = self.width_fn("song", BODY_PT)
        w_date = sum(width(u) for u in _units(date))
        w_issuer = sum(width(u) for u in _units(issuer))
        date_right = LEFT + BLOCK_W - 4 * CHAR
        centre = date_right - w_date / 2
        x_issuer = min(centre - w_issuer / 2, LEFT + BLOCK_W - w_issuer)
        x_issuer = max(LEFT, x_issuer)
        self.font("song", BODY_PT)
        self.draw(issuer, x_issuer, LEFT + BLOCK_W - x_issuer, LINE, "L")
        self.y += LINE
        self.font("song", BODY_PT)
        self.draw(date, date_right - w_date, w_date + 1, LINE, "L")
        self.y += LINE

    def imprint(self):
        """版记 at the foot of the last page: rule, copy-to, thin rule, printer and date, rule."""
        doc = self.doc
        copy_line = _copy_to_line(doc)
        width = self.width_fn("song", FOOT_PT)
        row_h = 7.5
        label_w = width(f"{doc.copy_to_label}：")
        one = FOOT_PT * MM_PER_PT                  # copy-to text sits one character in
        copy_lines = ["".join(u) for u in _wrap(_units(copy_line), BLOCK_W - 2 * one,
                                               BLOCK_W - 2 * one - label_w, width)] if copy_line else []
        height = row_h * (len(copy_lines) + 1) + 2
        if self.y + height > BLOCK_BOTTOM:
            self.new_page()
        y = BLOCK_BOTTOM - height
        self.rule(y, 0.35)
        self.y = y + 1
        for i, line in enumerate(copy_lines):
            self.font("song", FOOT_PT)
            x = LEFT + one + (0 if i == 0 else label_w)
            self.draw(line, x, BLOCK_W, row_h, "L")
            self.y += row_h
        if copy_lines:
            self.rule(self.y + 0.5, 0.25)
            self.y += 1
        printer, printed = _printed_line(doc)
        self.font("song", FOOT_PT)
        self.draw(printer, LEFT + one, BLOCK_W - 2 * one, row_h, "L")
        self.draw(printed, LEFT + one, BLOCK_W - 2 * one, row_h, "R")
        self.rule(BLOCK_BOTTOM, 0.35)

    def page_number(self):
        n = self.pdf.page_no()
        self.font("song", FOOT_PT)
        one = size_mm = FOOT_PT * MM_PER_PT
        h = 6.0
        # the dashes sit PAGE_NUMBER_GAP under the text block; fpdf2 puts the baseline at
        # y + h/2 + 0.3 * size and a dash is about 0.35 em above the baseline
        baseline = BLOCK_BOTTOM + PAGE_NUMBER_GAP + 0.35 * size_mm
        self.pdf.set_char_spacing(0)
        self.pdf.set_xy(LEFT + one, baseline - h / 2 - 0.3 * size_mm)
        # GB/T 9704: odd pages right, even pages left, one character in from the edge
        # two ASCII spaces: as wide as Word's half-width 宋体 space, and text extraction keeps them
        self.pdf.cell(w=BLOCK_W - 2 * one, h=h, text=f"—  {n}  —", align="R" if n % 2 else "L")


CUT_NOTE = "……（内容过长，余下部分未印出，请在系统中查看）"


def _fit_lines(cell: str, width: float, width_of, max_lines: int) -> str:
    """The cell's lines, at most `max_lines`; when cut, the last lines say so (nothing disappears
    silently)."""
    lines = ["".join(line) for line in _wrap(_units(cell), width, width, width_of)]
    if len(lines) > max_lines:
        note = ["".join(line) for line in _wrap(_units(CUT_NOTE), width, width, width_of)]
        lines = lines[:max(max_lines - len(note), 1)] + note
    return "\n".join(lines)


def _column_widths(rows: list[list[str]], width_of, avail: float, pad: float) -> list[float]:
    """Column widths that fill `avail`: each column gets at least its heading and its longest
    unbreakable run (a case number), and the rest goes where the text is longest."""
    ncols = len(rows[0])
    want = [max(width_of(r[c]) for r in rows) + pad for c in range(ncols)]
    # an unbreakable run claims at most an equal share of the line: a 60-character URL once
    # squeezed the other columns below one character, and fpdf2 then looped for ever
    share = max((avail - ncols * pad) / ncols, 0.0)
    floor = [max([width_of(rows[0][c])] + [min(width_of(u), share) for r in rows for u in _units(r[c])
                                            if len(u) > 1]) + pad for c in range(ncols)]
    floor = [min(f, w) for f, w in zip(floor, want)]
    if sum(want) <= avail:
        return [w * avail / sum(want) for w in want]
    spare = avail - sum(floor)
    if spare <= 0:
        return [f * avail / sum(floor) for f in floor]
    grow = [w - f for w, f in zip(want, floor)]
    return [f + spare * g / sum(grow) for f, g in zip(floor, grow)]


# --------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------
_PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl",
              "numPr", "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens",
              "kinsoku", "wordWrap", "overflowPunct", "topLinePunct", "autoSpaceDE",
              "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid", "spacing", "ind",
              "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
              "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
              "sectPr", "pPrChange"]
_RPR_ORDER = ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike",
              "dstrike", "outline", "shadow", "emboss", "imprint", "noProof", "snapToGrid",
              "vanish", "webHidden", "color", "spacing", "w", "kern", "position", "sz", "szCs",
              "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs", "em",
              "lang", "eastAsianLayout", "specVanish", "oMath"]
_TWIPS_PER_MM = 1440 / 25.4
# 28 characters of 16 pt in 156 mm: each character 0.25 pt narrower (Word/WPS/LibreOffice alike)
BODY_SPACING_PT = -0.25
_CHAR_TW = round((BODY_PT + BODY_SPACING_PT) * 20)     # one body character, 315 twips


def _tw(mm: float) -> int:
    return round(mm * _TWIPS_PER_MM)


def _el(tag: str, **attrs) -> OxmlElement:
    e = OxmlElement(f"w:{tag}")
    for k, v in attrs.items():
        e.set(qn(f"w:{k}"), str(v))
    return e


def _put(parent, child, order: list[str]):
    """Insert `child` into a pPr/rPr in schema order, replacing one with the same tag."""
    local = child.tag.split("}")[1]
    for old in parent.findall(qn(f"w:{local}")):
        parent.remove(old)
    after = order[order.index(local) + 1:]
    for i, existing in enumerate(parent):
        name = existing.tag.split("}")[1] if "}" in existing.tag else existing.tag
        if name in after:
            parent.insert(i, child)
            return child
    parent.append(child)
    return child


def _fonts(rpr, east_asia: str, latin: str = FONT_LATIN, size: float | None = None,
           color: str | None = None, bold: bool | None = None, scale: int | None = None,
           spacing_pt: float | None = None):
    """Name the font in the East Asian slot (what Word/WPS use for Chinese) and a Latin
    fallback; drop theme fonts, which would win over explicit names; mark text zh-CN."""
    rfonts = _put(rpr, _el("rFonts"), _RPR_ORDER)
    for slot, name in (("ascii", latin), ("hAnsi", latin), ("eastAsia", east_asia), ("cs", latin)):
        rfonts.set(qn(f"w:{slot}"), name)
    rfonts.set(qn("w:hint"), "eastAsia")     # “” — … take the Chinese face too
    if bold is not None:
        _put(rpr, _el("b", val="1" if bold else "0"), _RPR_ORDER)
        _put(rpr, _el("bCs", val="1" if bold else "0"), _RPR_ORDER)
    if color:
        _put(rpr, _el("color", val=color), _RPR_ORDER)
    if spacing_pt:
        _put(rpr, _el("spacing", val=round(spacing_pt * 20)), _RPR_ORDER)
    if scale and scale != 100:
        _put(rpr, _el("w", val=int(scale)), _RPR_ORDER)
    if size:
        _put(rpr, _el("sz", val=round(size * 2)), _RPR_ORDER)
        _put(rpr, _el("szCs", val=round(size * 2)), _RPR_ORDER)
    _put(rpr, _el("lang", val="en-US", eastAsia="zh-CN", bidi="ar-SA"), _RPR_ORDER)


def _paragraph_props(ppr, *, line_pt: float | None = LINE_PT, before_pt: float = 0,
                     after_pt: float = 0, jc: str | None = None, first_chars: float = 0,
                     left_tw: int = 0, right_tw: int = 0, hanging_tw: int = 0,
                     snap: bool = True, keep_next: bool = False):
    spacing = _el("spacing", before=round(before_pt * 20), after=round(after_pt * 20))
    if line_pt:
        spacing.set(qn("w:line"), str(round(line_pt * 20)))
        spacing.set(qn("w:lineRule"), "exact")
    _put(ppr, spacing, _PPR_ORDER)
    ind = _el("ind", left=left_tw, right=right_tw)
    if first_chars:
        ind.set(qn("w:firstLineChars"), str(round(first_chars * 100)))
        ind.set(qn("w:firstLine"), str(round(first_chars * _CHAR_TW)))
    elif hanging_tw:
        ind.set(qn("w:hanging"), str(hanging_tw))
    else:
        ind.set(qn("w:firstLine"), "0")
    _put(ppr, ind, _PPR_ORDER)
    if jc:
        _put(ppr, _el("jc", val=jc), _PPR_ORDER)
    if not snap:
        _put(ppr, _el("snapToGrid", val="0"), _PPR_ORDER)
    if keep_next:
        _put(ppr, _el("keepNext"), _PPR_ORDER)
    _put(ppr, _el("widowControl", val="0"), _PPR_ORDER)


class _DocxWriter:
    """Builds the DOCX with python-docx; every Chinese run names its East Asian font."""
    STYLES = {
        # name: (east asian font, size pt, jc, first-line chars, snap to grid)
        "公文正文": (FONT_BODY, BODY_PT, "both", 2, True),
        "Heading 1": (FONT_H1, BODY_PT, "both", 2, True),
        "Heading 2": (FONT_H2, BODY_PT, "both", 2, True),
        "Heading 3": (FONT_BODY, BODY_PT, "both", 2, True),
        "公文标题": (FONT_TITLE, TITLE_PT, "center", 0, False),
        "公文版头": (FONT_TITLE, HEADER_PT["doc_number"], "center", 0, False),
        "公文版记": (FONT_BODY, FOOT_PT, "left", 0, False),
    }
    BLOCK_STYLE = {"p": ("公文正文", FONT_BODY), "h1": ("Heading 1", FONT_H1),
                   "h2": ("Heading 2", FONT_H2), "h3": ("Heading 3", FONT_BODY)}

    def __init__(self, doc: OfficialDocument):
        self.doc = doc
        self.d = docx.Document()
        for p in list(self.d.paragraphs):       # the template may carry an empty paragraph
            p._p.getparent().remove(p._p)

    # set-up ----------------------------------------------------------------------------
    def setup(self):
        d = self.d
        styles_el = d.styles.element
        defaults = styles_el.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _fonts(rpr, FONT_BODY, size=BODY_PT)
        ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
        _put(ppr, _el("spacing", before=0, after=0, line=round(LINE_PT * 20), lineRule="exact"),
             _PPR_ORDER)

        normal = d.styles["Normal"]
        _fonts(normal.element.get_or_add_rPr(), FONT_BODY, size=BODY_PT)
        _paragraph_props(normal.element.get_or_add_pPr(), jc="both")
        for name, (font, size, jc, first, snap) in self.STYLES.items():
            try:
                style = d.styles[name]
            except KeyError:
                style = d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
                style.base_style = normal
                style.quick_style = True
            rpr = style.element.get_or_add_rPr()
            for tag in ("color", "i", "iCs", "b", "bCs"):
                for e in rpr.findall(qn(f"w:{tag}")):
                    rpr.remove(e)
            _fonts(rpr, font, size=size, bold=False, color="000000",
                   spacing_pt=BODY_SPACING_PT if size == BODY_PT else None)
            ppr = style.element.get_or_add_pPr()
            _paragraph_props(ppr, jc=jc, first_chars=first, snap=snap,
                             keep_next=name.startswith("Heading"),
                             line_pt=TITLE_LINE_PT if name == "公文标题" else LINE_PT)

        sec = d.sections[0]
        sec.page_width, sec.page_height = Mm(PAGE_W), Mm(PAGE_H)
        sec.top_margin, sec.bottom_margin = Mm(TOP), Mm(BOTTOM)
        sec.left_margin, sec.right_margin = Mm(LEFT), Mm(RIGHT)
        sec.header_distance, sec.footer_distance = Mm(15), Mm(FOOTER_DISTANCE)
        sec.gutter = Mm(0)
        # 22 lines x 28 characters: the grid Word/WPS 公文 templates use
        sect = sec._sectPr
        for g in sect.findall(qn("w:docGrid")):
            sect.remove(g)
        # No character grid: LibreOffice lays a 16 pt character over two grid cells. The 28
        # characters a line come from a slightly negative character spacing instead.
        sect.append(_el("docGrid", linePitch=round(LINE_PT * 20)))
        self.page_numbers(sec)

    def page_numbers(self, sec):
        """"— 1 —" in 4号: odd pages right, even pages left, one character in (GB/T 9704)."""
        self.d.settings.odd_and_even_pages_header_footer = True
        one = round(FOOT_PT * 20)
        for footer, jc, ind in ((sec.footer, "right", {"right": one}),
                                (sec.even_page_footer, "left", {"left": one})):
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
            ppr = p._p.get_or_add_pPr()
            _paragraph_props(ppr, line_pt=18, jc=jc, snap=False,
                             left_tw=ind.get("left", 0), right_tw=ind.get("right", 0))
            self.run(p, "— ", FONT_PAGE_NO, FOOT_PT, latin=FONT_PAGE_NO)
            self.field(p, "PAGE", "1")
            self.run(p, " —", FONT_PAGE_NO, FOOT_PT, latin=FONT_PAGE_NO)

    def field(self, p, instr: str, shown: str):
        for kind in ("begin", None, "separate", shown, "end"):
            r = self.run(p, "", FONT_PAGE_NO, FOOT_PT, latin=FONT_PAGE_NO)
            if kind in ("begin", "separate", "end"):
                r._r.append(_el("fldChar", fldCharType=kind))
            elif kind is None:
                it = _el("instrText")
                it.text = f" {instr} "
                it.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                r._r.append(it)
            else:
                r.text = kind

    # building blocks -------------------------------------------------------------------
    def run(self, p, text: str, font: str, size: float, *, latin: str = FONT_LATIN,
            color: str | None = None, bold: bool | None = None, scale: int | None = None,
            spacing_pt: float | None = None):
        r = p.add_run(text)
        if spacing_pt is None and size == BODY_PT:
            spacing_pt = BODY_SPACING_PT
        _fonts(r._r.get_or_add_rPr(), font, latin, size=size, color=color, bold=bold,
               scale=scale, spacing_pt=spacing_pt)
        return r

    def para(self, style: str | None = None):
        p = self.d.add_paragraph(style=style)
        return p

    def spacer(self, height_mm: float):
        p = self.para()
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=height_mm / MM_PER_PT, snap=False)

    def header(self):
        doc = self.doc
        style = doc.header_style
        size = HEADER_PT[style]
        name = doc.issuing_body.strip()
        em = _em(name) * 1.04
        spacing = 0.0
        scale = 100
        if len(name) <= 6 and (em + 0.25 * (len(name) - 1)) * size * MM_PER_PT <= BLOCK_W:
            spacing = 0.25 * size
        elif em * size * MM_PER_PT > BLOCK_W:
            scale = math.floor(BLOCK_W / (em * size * MM_PER_PT) * 100)
            if scale < HEADER_MIN_STRETCH:
                size = size * scale / HEADER_MIN_STRETCH * 0.99
                scale = HEADER_MIN_STRETCH
        if HEADER_TOP[style]:
            self.spacer(HEADER_TOP[style])
        p = self.para("公文版头")
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=size * 1.25, jc="center", snap=False)
        self.run(p, name, FONT_TITLE, size, color=RED_HEX, scale=scale, spacing_pt=spacing)
        red_rule = _el("pBdr")
        if style == "doc_number":
            p = self.para()
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=2 * LINE_PT - size * 0.25,
                             jc="center", snap=False)
            self.run(p, doc.doc_number, FONT_BODY, BODY_PT)
            red_rule.append(_el("bottom", val="single", sz=12, space=4, color=RED_HEX))
        else:
            if doc.doc_number:
                p = self.para()
                _paragraph_props(p._p.get_or_add_pPr(), jc="center", snap=False)
                self.run(p, doc.doc_number, FONT_BODY, BODY_PT)
            p = self.para()
            left, right = doc.issuer.strip(), format_date_cn(doc.date)
            fsize = BODY_PT
            while fsize > 10.5 and (_em(left) + _em(right)) * 1.04 * fsize * MM_PER_PT + 2 * CHAR > BLOCK_W:
                fsize -= 0.5
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=0.3 * LINE_PT, snap=False, jc="left")
            p.paragraph_format.tab_stops.add_tab_stop(_twips(BLOCK_W), WD_TAB_ALIGNMENT.RIGHT)
            self.run(p, f"{left}\t{right}", FONT_BODY, fsize)
            red_rule.append(_el("bottom", val="single", sz=18, space=4, color=RED_HEX))
        _put(p._p.get_or_add_pPr(), red_rule, _PPR_ORDER)
        return 2 * LINE_PT if style == "doc_number" else LINE_PT

    def title(self, gap_pt: float):
        addressee = _addressee_line(self.doc.addressee)
        p = self.para("公文标题")
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=TITLE_LINE_PT, before_pt=gap_pt,
                         after_pt=0 if addressee else LINE_PT, jc="center", snap=False)
        lines = _balanced_title_lines(self.doc.title.strip(), lambda u: _em(u) * 1.04,
                                      BLOCK_W / (TITLE_PT * MM_PER_PT))
        for i, line in enumerate(lines):
            r = self.run(p, line, FONT_TITLE, TITLE_PT)
            if i < len(lines) - 1:
                r.add_break()
        if addressee:
            p = self.para("公文正文")
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=LINE_PT, jc="both")
            self.run(p, addressee, FONT_BODY, BODY_PT)

    def block(self, b: Block):
        if b.kind == "table":
            self.table(b.rows or [])
            return
        style, font = self.BLOCK_STYLE[b.kind]
        for text in _body_paragraphs(b.text):
            p = self.para(style)
            self.run(p, text, font, BODY_PT)

    def table(self, rows: list[list[str]]):
        ncols = max(len(r) for r in rows)
        rows = [[str(c) for c in r] + [""] * (ncols - len(r)) for r in rows]
        em = TABLE_PT * MM_PER_PT
        widths = _column_widths(rows, lambda t: _em(t) * 1.1 * em, BLOCK_W, 2 * em * 0.6)
        t = self.d.add_table(rows=len(rows), cols=ncols)
        t.style = self.d.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        for ri, r in enumerate(rows):
            for ci, text in enumerate(r):
                cell = t.cell(ri, ci)
                cell.width = Mm(widths[ci])
                p = cell.paragraphs[0]
                _paragraph_props(p._p.get_or_add_pPr(), line_pt=TABLE_PT * 1.45, before_pt=2,
                                 after_pt=2, jc="center", snap=False)
                self.run(p, text, FONT_H1 if ri == 0 else FONT_BODY, TABLE_PT)
        t.rows[0]._tr.get_or_add_trPr().append(_el("tblHeader"))   # repeats on a new page
        for gc, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths):
            gc.set(qn("w:w"), str(_tw(w)))

    def attachments(self):
        note = _attachments_line(self.doc.attachments_note)
        if note:
            p = self.para("公文正文")
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=LINE_PT, left_tw=5 * _CHAR_TW,
                             hanging_tw=3 * _CHAR_TW, jc="left")
            self.run(p, note, FONT_BODY, BODY_PT)

    def signature(self):
        doc = self.doc
        date = format_date_cn(doc.date)
        issuer = doc.issuer.strip()
        right_date = 4 * _CHAR_TW
        right_issuer = right_date + (_em(date) - _em(issuer)) / 2 * _CHAR_TW
        right_issuer = max(0, round(right_issuer))
        p = self.para("公文正文")
        _paragraph_props(p._p.get_or_add_pPr(), before_pt=2 * LINE_PT, jc="right",
                         right_tw=right_issuer, keep_next=True)
        self.run(p, issuer, FONT_BODY, BODY_PT)
        p = self.para("公文正文")
        _paragraph_props(p._p.get_or_add_pPr(), jc="right", right_tw=right_date)
        self.run(p, date, FONT_BODY, BODY_PT)

    def imprint(self):
        """版记 at the foot of the last page: framed paragraphs anchored to the bottom of the
        text block. Each paragraph carries the same top rule (LibreOffice makes a frame only
        of paragraphs with identical borders); their indents differ, so Word and WPS draw
        every rule instead of merging them into one box. The last, empty paragraph's rule
        closes the block."""
        doc = self.doc
        one = round(FOOT_PT * 20)                      # one 14 pt character
        frame = dict(w=_tw(BLOCK_W), wrap="around", vAnchor="margin", hAnchor="margin",
                     xAlign="center", yAlign="bottom")
        rows = []
        copy_line = _copy_to_line(doc)
        if copy_line:
            label = round(_em(f"{doc.copy_to_label}：") * FOOT_PT * 20)
            p = self.para("公文版记")
            # wrapped lines line up after the colon (GB/T 9704)
            _paragraph_props(p._p.get_or_add_pPr(), line_pt=21, before_pt=2, after_pt=2,
                             snap=False, left_tw=one + label, hanging_tw=one + label, jc="left")
            self.run(p, "\u3000" + copy_line, FONT_BODY, FOOT_PT)
            rows.append(p)
        p = self.para("公文版记")
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=21, before_pt=2, after_pt=2, snap=False,
                         jc="left")
        p.paragraph_format.tab_stops.add_tab_stop(_twips(BLOCK_W - FOOT_PT * MM_PER_PT - 1.5),
                                                  WD_TAB_ALIGNMENT.RIGHT)
        printer, printed = _printed_line(doc)
        self.run(p, f"\u3000{printer}\t{printed}", FONT_BODY, FOOT_PT)
        rows.append(p)
        p = self.para("公文版记")
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=1, snap=False, right_tw=20)
        rows.append(p)
        for p in rows:
            ppr = p._p.get_or_add_pPr()
            _put(ppr, _el("framePr", **frame), _PPR_ORDER)
            bdr = _el("pBdr")
            bdr.append(_el("top", val="single", sz=8, space=1, color="000000"))
            _put(ppr, bdr, _PPR_ORDER)
        # LibreOffice turns framed paragraphs into a frame only when a normal one follows
        end = self.para()
        _paragraph_props(end._p.get_or_add_pPr(), line_pt=1, snap=False)

    def font_table(self):
        """Tell Word/WPS which installed face to use when a named one is missing."""
        part = next((r.target_part for r in self.d.part.rels.values() if r.reltype == RT.FONT_TABLE), None)
        if part is None or not hasattr(part, "_blob"):
            return
        root = etree.fromstring(part.blob)
        ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        for name, alt in FONT_ALT_NAMES.items():
            f = etree.SubElement(root, f"{{{ns}}}font", {f"{{{ns}}}name": name})
            etree.SubElement(f, f"{{{ns}}}altName", {f"{{{ns}}}val": alt})
            etree.SubElement(f, f"{{{ns}}}charset", {f"{{{ns}}}val": "86"})
            etree.SubElement(f, f"{{{ns}}}family", {f"{{{ns}}}val": "modern" if "仿宋" in name or "楷" in name else "auto"})
            etree.SubElement(f, f"{{{ns}}}pitch", {f"{{{ns}}}val": "variable"})
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def render(self) -> bytes:
        self.setup()
        gap = self.header()
        self.title(gap)
        for b in self.doc.body:
            self.block(b)
        self.attachments()
        if self.doc.header_style == "doc_number":
            self.signature()
        self.imprint()
        self.font_table()
        props = self.d.core_properties
        props.title = self.doc.title.replace("\n", "")[:255]  # DOCX core properties allow 255 characters
        props.author = (self.doc.issuer or self.doc.issuing_body)[:255]
        props.language = "zh-CN"
        out = BytesIO()
        self.d.save(out)
        return out.getvalue()


def _twips(mm: float) -> Twips:
    return Twips(_tw(mm))


def render_docx(doc: OfficialDocument) -> bytes:
    """The document as a .docx that opens in Word, WPS and LibreOffice."""
    _check(doc)
    return _DocxWriter(doc).render()


# --------------------------------------------------------------------------------------------
# Templates: templates/official/<kind>.json, editable by an administrator
# --------------------------------------------------------------------------------------------
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMATTER = string.Formatter()
_CN_DIGITS = "零一二三四五六七八九"
_AUTO_FIELDS = {"date", "year", "n", "cn_n", "item"}


def templates_dir() -> Path:
    """Where templates are read from: $OFFICIAL_TEMPLATES_DIR, else templates/official/."""
    env = os.environ.get("OFFICIAL_TEMPLATES_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "templates" / "official"


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


def load_template(kind: str, *, directory: Path | None = None) -> dict:
    """Read and check templates/official/<kind>.json (kind: risk_notice, supervision_order, bulletin,
    meeting_minutes)."""
    if kind not in KINDS:
        raise OfficialDocError(
            f"未知的公文类型“{kind}”，可用：risk_notice（风险提示函）、"
            "supervision_order（督办单）、bulletin（工作专报）、meeting_minutes（会议纪要）。")
    path = Path(directory or templates_dir()) / f"{kind}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfficialDocError(f"找不到公文模板文件：{path}") from None
    except json.JSONDecodeError as e:
        raise OfficialDocError(
            f"公文模板 {path.name} 不是有效的 JSON（第{e.lineno}行第{e.colno}列）：{e.msg}") from None
    problems = []
    if not isinstance(data, dict):
        raise OfficialDocError(f"公文模板 {path.name} 的最外层应是一个对象 {{…}}。")
    for key in ("issuing_body", "title", "body"):
        if key not in data:
            problems.append(f"缺少“{key}”")
    if data.get("header_style", "doc_number") not in HEADER_STYLES:
        problems.append("header_style 只能是 doc_number 或 bulletin")
    if data.get("header_style", "doc_number") == "doc_number" and not data.get("issuer"):
        problems.append("缺少“issuer”（发文机关署名）")
    if not isinstance(data.get("body", []), list):
        problems.append("body 应是段落列表")
    for i, entry in enumerate(_walk_entries(data.get("body", [])), 1):
        kind_ = entry.get("kind")
        if kind_ not in BLOCK_KINDS:
            problems.append(f"body 第{i}项的 kind“{kind_}”无效（可用 p、h1、h2、h3、table）")
    if not isinstance(data.get("copy_to", []), list):
        problems.append("copy_to 应是单位名称列表")
    if problems:
        raise OfficialDocError(f"公文模板 {path.name} 有误：" + "；".join(problems) + "。")
    try:
        _template_placeholders(data)
    except OfficialDocError as e:
        raise OfficialDocError(f"公文模板 {path.name} 有误：{e.message}") from None
    return data


def _walk_entries(entries):
    for e in entries:
        if isinstance(e, dict) and "blocks" in e:
            yield from _walk_entries(e["blocks"])
        elif isinstance(e, dict):
            yield e
        else:
            yield {"kind": None}


def _fields_of(text) -> list[str]:
    if not isinstance(text, str):
        return []
    names = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise OfficialDocError(
            f"模板文字“{text[:30]}”中的花括号不成对；占位符写作 {{名称}}，要原样印出花括号请写 {{{{ 或 }}}}。") from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not _IDENT.fullmatch(name):
            raise OfficialDocError(
                f"模板占位符“{{{name}}}”写法不对：名称只能由字母、数字和下划线组成，例如 {{case_number}}。")
        names.append(name)
    return names


def _entry_texts(entry: dict) -> list:
    texts = [entry.get("text", "")]
    for row in ([entry.get("header")] if entry.get("header") else []) + list(entry.get("rows") or []):
        texts.extend(row if isinstance(row, list) else [])
    return texts


def _template_placeholders(tpl: dict, *, top_level_only: bool = False) -> dict[str, None]:
    """Every placeholder name used in the template, in order of appearance; `top_level_only`
    leaves out names used only inside an "each" entry (they come from the list's items)."""
    names: dict[str, None] = {}
    for key in ("issuing_body", "doc_number", "title", "addressee", "issuer", "attachments_note"):
        names.update(dict.fromkeys(_fields_of(tpl.get(key, ""))))
    for unit in tpl.get("copy_to", []):
        names.update(dict.fromkeys(_fields_of(unit)))

    def walk(entries, inside_each: bool):
        for e in entries:
            if e.get("each"):
                names[e["each"]] = None
            nested = inside_each or bool(e.get("each"))
            if "blocks" in e:
                walk(e["blocks"], nested)
                continue
            if e.get("rows_from"):
                names[e["rows_from"]] = None
            if nested and top_level_only:
                continue
            for t in _entry_texts(e):
                names.update(dict.fromkeys(_fields_of(t)))

    walk(tpl.get("body", []), False)
    return names


def template_fields(kind: str, *, directory: Path | None = None) -> dict[str, str]:
    """Placeholders a caller must supply for `kind`, mapped to their Chinese labels (for forms).
    `date` (default today) and `year` (from the date) are filled automatically."""
    tpl = load_template(kind, directory=directory)
    labels = tpl.get("fields", {})
    return {n: labels.get(n, n) for n in _template_placeholders(tpl, top_level_only=True)
            if n not in _AUTO_FIELDS}


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, (list, tuple)) and not v)


def fill_template(kind: str, values: dict, *, directory: Path | None = None) -> OfficialDocument:
    """Build a document from templates/official/<kind>.json and `values`.

    `values` holds the placeholders; `date` (datetime.date or 'YYYY-MM-DD', default today) is
    printed as 2026年12月6日 wherever {date} appears and sets {year}; a `copy_to` list replaces
    the template's copy-to units. A placeholder without a value raises OfficialDocError (a
    ValueError) whose Chinese message names every missing one.
    """
    tpl = load_template(kind, directory=directory)
    labels = tpl.get("fields", {})
    values = dict(values or {})
    date = _coerce_date(values.get("date"))
    ctx = {**values, "date": format_date_cn(date)}
    ctx.setdefault("year", date.year)

    missing: dict[str, None] = {}

    def need(text, scope, each: str | None = None) -> bool:
        gone = [n for n in _fields_of(text) if _blank(scope.get(n))]
        missing.update(dict.fromkeys(f"{each}（每一项的 {n}）" if each else n for n in gone))
        return not gone

    def fmt(text, scope) -> str:
        if not isinstance(text, str):
            return str(text)
        try:
            return text.format_map(scope)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            raise OfficialDocError(f"模板文字“{text[:30]}”无法填写：{e}") from None

    def optional_ok(text, scope) -> bool:
        return all(not _blank(scope.get(n)) for n in _fields_of(text))

    blocks: list[Block] = []

    def build(entries, scope, each: str | None = None):
        for e in entries:
            items = [None]
            if e.get("each"):
                seq = scope.get(e["each"])
                if _blank(seq):
                    if not e.get("optional"):
                        missing[e["each"]] = None
                    continue
                if isinstance(seq, str) or not isinstance(seq, (list, tuple)):
                    seq = [seq]
                items = list(seq)
            for n, item in enumerate(items, 1):
                sub = scope
                if e.get("each"):
                    sub = {**scope, "item": item, "n": n, "cn_n": _cn_number(n)}
                    if isinstance(item, dict):
                        sub.update(item)
                in_each = e.get("each") or each
                if "blocks" in e:
                    build(e["blocks"], sub, in_each)
                    continue
                texts = _entry_texts(e)
                rows_key = e.get("rows_from")
                rows_missing = bool(rows_key) and _blank(sub.get(rows_key))
                if e.get("optional") and (rows_missing or not all(optional_ok(t, sub) for t in texts)):
                    continue
                if rows_missing:
                    missing[rows_key] = None
                if not all([need(t, sub, in_each) for t in texts]) or rows_missing:
                    continue
                if e["kind"] == "table":
                    rows = [[fmt(c, sub) for c in e["header"]]] if e.get("header") else []
                    rows += [[fmt(c, sub) for c in r] for r in e.get("rows") or []]
                    rows += [[str(c) for c in r] for r in sub.get(rows_key) or []] if rows_key else []
                    blocks.append(Block("table", rows=rows))
                else:
                    blocks.append(Block(e["kind"], fmt(e.get("text", ""), sub)))

    def field_text(key, required=True):
        text = tpl.get(key, "")
        if not text:
            return ""
        if not required and not optional_ok(text, ctx):
            return ""
        return fmt(text, ctx) if need(text, ctx) else ""

    issuing_body = field_text("issuing_body")
    doc_number = field_text("doc_number")
    title = field_text("title")
    addressee = field_text("addressee")
    issuer = field_text("issuer")
    attachments = field_text("attachments_note", required=False)
    build(tpl.get("body", []), ctx)
    if isinstance(values.get("copy_to"), (list, tuple)):
        copy_to = [str(u) for u in values["copy_to"] if str(u).strip()]
    else:
        copy_to = [fmt(u, ctx) for u in tpl.get("copy_to", []) if need(u, ctx)]
    if missing:
        named = "、".join(f"{n}（{labels[n]}）" if n in labels else n for n in missing)
        raise OfficialDocError(f"无法生成{tpl.get('name', kind)}：缺少以下内容：{named}。")
    return OfficialDocument(
        issuing_body=issuing_body, doc_number=doc_number, title=title, addressee=addressee,
        body=blocks, issuer=issuer, date=date, copy_to=copy_to, attachments_note=attachments,
        header_style=tpl.get("header_style", "doc_number"),
        copy_to_label=tpl.get("copy_to_label", "抄送"),
    )


def _coerce_date(value) -> dt.date:
    if value is None or value == "":
        return clock.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise OfficialDocError(f"成文日期“{value}”无法识别，请写作 2026-12-06。") from None
