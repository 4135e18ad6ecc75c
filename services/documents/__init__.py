"""Official documents (公文): risk notices, supervision orders, work bulletins and meeting minutes
as DOCX and PDF, in the layout of GB/T 9704-2012 (党政机关公文格式).

Wording lives outside the code in `templates/official/<kind>.json`; `fill_template()` turns a
template and a dict of values into an `OfficialDocument`; `render_docx()` / `render_pdf()` print
it. Pure Python: no database, no streamlit. See docs/official-documents.md.

    model.py       the document (OfficialDocument, Block), its checks, OfficialDocError
    templates.py   reading and filling templates/official/<kind>.json
    layout.py      the GB/T 9704 page geometry and text helpers shared by both renderers
    linebreak.py   Chinese line breaking (禁则) and balanced title lines
    fonts.py       the Chinese faces every PDF of the portal embeds (also the dispute-code card)
    docx_writer.py, pdf_writer.py   the two renderers
"""
from services.documents.docx_writer import render_docx, render_docx_bundle
from services.documents.fonts import FontMissing, cjk_faces
from services.documents.model import CASE_PAPER_KINDS, KINDS, Block, OfficialDocError, OfficialDocument, format_date_cn
from services.documents.pdf_writer import render_pdf, render_pdf_bundle
from services.documents.templates import (cn_number, fill_template, format_doc_number, load_template, template_fields,
                                         templates_dir)

__all__ = [
    "KINDS",
    "Block",
    "CASE_PAPER_KINDS",
    "FontMissing",
    "OfficialDocError",
    "OfficialDocument",
    "cjk_faces",
    "cn_number",
    "fill_template",
    "format_date_cn",
    "format_doc_number",
    "load_template",
    "render_docx",
    "render_docx_bundle",
    "render_pdf",
    "render_pdf_bundle",
    "template_fields",
    "templates_dir",
]
