"""The PDF renderer: an A4 PDF with embedded Noto CJK faces, laid out on the GB/T 9704 grid
with its own Chinese line breaking (fpdf2 only draws what is placed here)."""
from __future__ import annotations

import math

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, WrapMode
from fpdf.fonts import FontFace

from services.documents.fonts import Face, cjk_faces
from services.documents.layout import (BLOCK_BOTTOM, BLOCK_W, BODY_PT, BOTTOM, CHAR, FOOT_PT, HEADER_MIN_STRETCH,
                                       HEADER_PT, HEADER_TOP, LEFT, LINE, MM_PER_PT, PAGE_NUMBER_GAP, RED, RIGHT,
                                       TABLE_PT, TITLE_LINE_PT, TITLE_PT, TOP, addressee_line, attachments_line,
                                       body_paragraphs, column_widths, copy_to_line, em_width, printed_line)
from services.documents.linebreak import balanced_title_lines, fit_lines, split_units, wrap_units
from services.documents.model import Block, OfficialDocError, OfficialDocument, check_document, format_date_cn


def render_pdf(doc: OfficialDocument) -> bytes:
    """The document as an A4 PDF with embedded Noto CJK faces (about 1 s: font loading and
    subsetting dominate)."""
    check_document(doc)
    return _PdfWriter(doc, cjk_faces()).render()


def render_pdf_bundle(docs: list[OfficialDocument], title: str = "", *,
                      measure: bool = False) -> tuple[bytes, list[int], int]:
    """Several documents in one PDF, each starting on a new page, pages numbered through; returns
    the PDF, the page on which each document starts (for a table of contents) and the page count.
    `measure`: lay out only, no PDF bytes (b""): half the time, for page numbers."""
    if not docs:
        raise OfficialDocError("没有可以合并的文书。")
    for doc in docs:
        check_document(doc)
    writer = _PdfWriter(docs[0], cjk_faces())
    if title:
        writer.pdf.set_title(title)
    starts = []
    for doc in docs:
        writer.doc = doc
        writer.new_page()
        starts.append(writer.pdf.page_no())
        writer.draw_document()
    pages = writer.pdf.page_no()
    return (b"" if measure else bytes(writer.pdf.output())), starts, pages


class _OfficialFPDF(FPDF):
    writer: _PdfWriter

    def footer(self):  # called by fpdf2 at the end of every page
        self.writer.page_number()


class _PdfWriter:
    def __init__(self, doc: OfficialDocument, faces: dict[str, Face]):
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
        self._families: dict[Face, str] = {}
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
        lines = wrap_units(split_units(text), BLOCK_W - first - right, BLOCK_W - rest - right, width)
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
        self.draw_document()
        return bytes(self.pdf.output())

    def draw_document(self):
        """The document from the top of the current page."""
        if self.doc.header_style != "plain":
            self.header()
        self.title_and_addressee()
        for block in self.doc.body:
            self.block(block)
        note = attachments_line(self.doc.attachments_note)
        if note:
            self.skip_lines(1)
            self.paragraph(note, first=2 * CHAR, rest=5 * CHAR, align="L")
        if self.doc.header_style == "doc_number":
            self.signature()
        if self.doc.header_style != "plain":
            self.imprint()

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
            while size > 10.5 and (em_width(left) + em_width(right)) * size * MM_PER_PT + 2 * CHAR > BLOCK_W:
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
        for line in balanced_title_lines(self.doc.title.strip(), width, BLOCK_W):
            self.ensure(title_h)
            self.font("song_bold", size)
            self.draw(line, LEFT, BLOCK_W, title_h, "C")
            self.y += title_h
        if self.doc.header_style == "plain" and self.doc.doc_number:
            self.font("song", BODY_PT)       # plain documents: the number under the title, flush right
            self.draw(self.doc.doc_number, LEFT, BLOCK_W, LINE, "R")
            self.y += LINE
        self.skip_lines(1)
        addressee = addressee_line(self.doc.addressee)
        if addressee:
            self.paragraph(addressee, first=0, rest=0, align="L")

    def block(self, b: Block):
        if b.kind == "table":
            self.table(b.rows or [])
            return
        role = {"p": "song", "h1": "hei", "h2": "kai", "h3": "song"}[b.kind]
        for text in body_paragraphs(b.text):
            self.paragraph(text, role, keep_with_next=1 if b.kind != "p" else 0)

    def table(self, rows: list[list[str]]):
        pdf = self.pdf
        ncols = max(len(r) for r in rows)
        rows = [[str(c) for c in r] + [""] * (ncols - len(r)) for r in rows]
        pad = 2.0
        head_w = self.width_fn("hei", TABLE_PT)
        cell_w = self.width_fn("song", TABLE_PT)
        widths = column_widths(rows, lambda t: max(head_w(t), cell_w(t)), BLOCK_W, 2 * pad)
        # break lines here (Chinese rules, case numbers kept whole); fpdf2 only draws them
        line_h = TABLE_PT * MM_PER_PT * 1.45
        # a row must fit on one page (fpdf2 refuses taller rows): longer cells are cut, visibly
        max_lines = max(int((BLOCK_BOTTOM - TOP - 3 * line_h) / line_h) - 2, 3)
        text = [[fit_lines(c, w - 2 * pad, head_w if i == 0 else cell_w, max_lines)
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
        w_date = sum(width(u) for u in split_units(date))
        w_issuer = sum(width(u) for u in split_units(issuer))
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
        copy_line = copy_to_line(doc)
        width = self.width_fn("song", FOOT_PT)
        row_h = 7.5
        label_w = width(f"{doc.copy_to_label}：")
        one = FOOT_PT * MM_PER_PT                  # copy-to text sits one character in
        copy_lines = ["".join(u) for u in wrap_units(split_units(copy_line), BLOCK_W - 2 * one,
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
        printer, printed = printed_line(doc)
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

