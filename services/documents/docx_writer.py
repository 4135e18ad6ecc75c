"""The DOCX renderer: a .docx that opens in Word, WPS and LibreOffice, with the fonts government
PCs have named in every style and run (Word and WPS break the lines themselves)."""
from __future__ import annotations

import math
from io import BytesIO
from typing import ClassVar

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Twips
from lxml import etree

from services.documents.layout import (BLOCK_W, BODY_PT, BOTTOM, CHAR, FOOT_PT, FOOTER_DISTANCE, HEADER_MIN_STRETCH,
                                       HEADER_PT, HEADER_TOP, LEFT, LINE_PT, MM_PER_PT, PAGE_H, PAGE_W, RED_HEX, RIGHT,
                                       TABLE_PT, TITLE_LINE_PT, TITLE_PT, TOP, addressee_line, attachments_line,
                                       body_paragraphs, column_widths, copy_to_line, em_width, printed_line)
from services.documents.linebreak import balanced_title_lines
from services.documents.model import Block, OfficialDocument, check_document, format_date_cn

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
    STYLES: ClassVar[dict[str, tuple]] = {
        # name: (east asian font, size pt, jc, first-line chars, snap to grid)
        "公文正文": (FONT_BODY, BODY_PT, "both", 2, True),
        "Heading 1": (FONT_H1, BODY_PT, "both", 2, True),
        "Heading 2": (FONT_H2, BODY_PT, "both", 2, True),
        "Heading 3": (FONT_BODY, BODY_PT, "both", 2, True),
        "公文标题": (FONT_TITLE, TITLE_PT, "center", 0, False),
        "公文版头": (FONT_TITLE, HEADER_PT["doc_number"], "center", 0, False),
        "公文版记": (FONT_BODY, FOOT_PT, "left", 0, False),
    }
    BLOCK_STYLE: ClassVar[dict[str, tuple[str, str]]] = {"p": ("公文正文", FONT_BODY), "h1": ("Heading 1", FONT_H1),
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
        em = em_width(name) * 1.04
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
            while fsize > 10.5 and (em_width(left) + em_width(right)) * 1.04 * fsize * MM_PER_PT + 2 * CHAR > BLOCK_W:
                fsize -= 0.5
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=0.3 * LINE_PT, snap=False, jc="left")
            p.paragraph_format.tab_stops.add_tab_stop(_twips(BLOCK_W), WD_TAB_ALIGNMENT.RIGHT)
            self.run(p, f"{left}\t{right}", FONT_BODY, fsize)
            red_rule.append(_el("bottom", val="single", sz=18, space=4, color=RED_HEX))
        _put(p._p.get_or_add_pPr(), red_rule, _PPR_ORDER)
        return 2 * LINE_PT if style == "doc_number" else LINE_PT

    def title(self, gap_pt: float):
        addressee = addressee_line(self.doc.addressee)
        p = self.para("公文标题")
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=TITLE_LINE_PT, before_pt=gap_pt,
                         after_pt=0 if addressee else LINE_PT, jc="center", snap=False)
        lines = balanced_title_lines(self.doc.title.strip(), lambda u: em_width(u) * 1.04,
                                      BLOCK_W / (TITLE_PT * MM_PER_PT))
        for i, line in enumerate(lines):
            r = self.run(p, line, FONT_TITLE, TITLE_PT)
            if i < len(lines) - 1:
                r.add_break()
        if self.doc.header_style == "plain" and self.doc.doc_number:
            # plain documents (people's mediation): the number under the title, flush right
            _paragraph_props(p._p.get_or_add_pPr(), line_pt=TITLE_LINE_PT, before_pt=gap_pt, after_pt=0,
                             jc="center", snap=False)
            p = self.para("公文正文")
            _paragraph_props(p._p.get_or_add_pPr(), after_pt=0 if addressee else LINE_PT, jc="right")
            self.run(p, self.doc.doc_number, FONT_BODY, BODY_PT)
        if addressee:
            p = self.para("公文正文")
            _paragraph_props(p._p.get_or_add_pPr(), before_pt=LINE_PT, jc="both")
            self.run(p, addressee, FONT_BODY, BODY_PT)

    def block(self, b: Block):
        if b.kind == "table":
            self.table(b.rows or [])
            return
        style, font = self.BLOCK_STYLE[b.kind]
        for text in body_paragraphs(b.text):
            p = self.para(style)
            self.run(p, text, font, BODY_PT)

    def table(self, rows: list[list[str]]):
        ncols = max(len(r) for r in rows)
        rows = [[str(c) for c in r] + [""] * (ncols - len(r)) for r in rows]
        em = TABLE_PT * MM_PER_PT
        widths = column_widths(rows, lambda t: em_width(t) * 1.1 * em, BLOCK_W, 2 * em * 0.6)
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
        note = attachments_line(self.doc.attachments_note)
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
        right_issuer = right_date + (em_width(date) - em_width(issuer)) / 2 * _CHAR_TW
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
        frame = {"w": _tw(BLOCK_W), "wrap": "around", "vAnchor": "margin", "hAnchor": "margin",
                 "xAlign": "center", "yAlign": "bottom"}
        rows = []
        copy_line = copy_to_line(doc)
        if copy_line:
            label = round(em_width(f"{doc.copy_to_label}：") * FOOT_PT * 20)
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
        printer, printed = printed_line(doc)
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
            family = "modern" if "仿宋" in name or "楷" in name else "auto"
            etree.SubElement(f, f"{{{ns}}}family", {f"{{{ns}}}val": family})
            etree.SubElement(f, f"{{{ns}}}pitch", {f"{{{ns}}}val": "variable"})
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def draw_document(self):
        gap = self.header() if self.doc.header_style != "plain" else 0
        self.title(gap)
        for b in self.doc.body:
            self.block(b)
        self.attachments()
        if self.doc.header_style == "doc_number":
            self.signature()
        if self.doc.header_style != "plain":
            self.imprint()

    def page_break(self):
        p = self.para()
        _put(p._p.get_or_add_pPr(), _el("pageBreakBefore"), _PPR_ORDER)
        _paragraph_props(p._p.get_or_add_pPr(), line_pt=1, snap=False)

    def render(self, more: tuple[OfficialDocument, ...] = ()) -> bytes:
        self.setup()
        self.draw_document()
        first = self.doc
        for doc in more:      # a bundle: each further document from the top of a new page
            self.doc = doc
            self.page_break()
            self.draw_document()
        self.doc = first
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
    check_document(doc)
    return _DocxWriter(doc).render()


def render_docx_bundle(docs: list[OfficialDocument]) -> bytes:
    """Several documents in one .docx, each from the top of a new page (e.g. an application
    with the agreement it attaches)."""
    for doc in docs:
        check_document(doc)
    return _DocxWriter(docs[0]).render(tuple(docs[1:]))

