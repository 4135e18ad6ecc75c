"""Official documents (公文): what staff see when they open the DOCX or print the PDF.

DOCX files are read back with python-docx; PDFs go through poppler (pdftotext / pdftoppm), as
a reader would see them. Rendering is done once per module: the whole file runs in a few seconds.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image

from services import documents as od
from services.documents import fonts
from services.documents.linebreak import split_units, wrap_units

CASE_NUMBER = "FC20261201-0037"
RISK_VALUES = {
    "serial": 7,
    "subject": "剑光街道邻里纠纷",
    "addressee": "剑光街道综治中心",
    "location": "剑光街道龙凤社区幸福小区",
    "dispute_type": "邻里噪音纠纷",
    "case_number": CASE_NUMBER,
    "attempts": "现场调解和驻所母舅调解两级调处",
    "situation": "幸福小区3栋住户刘某与楼下住户王某因装修噪音、渗水问题多次发生争执，先后4次拨打110报警。",
    "risk_assessment": "双方分歧较大，家属介入后矛盾有扩大趋势，存在“民转刑”风险。",
    "deadline": "2026年12月10日",
    "contact_person": "李明",
    "contact_phone": "0795-6212345",
    "date": dt.date(2026, 12, 6),
}
BULLETIN_VALUES = {
    "issue_no": 16,
    "title": "我市“母舅坐上解纷码”非警务警情联动处置工作取得阶段性成效",
    "date": "2026-12-06",
    "lead": "今年7月以来，我市将非警务警情分流至母舅驻所、住村调解室，实现闭环管理。",
    "overview": "全市共调处非警务警情纠纷4956件，调解成功率由63%提升至98.5%，群众满意率达99%。",
    "township_rows": [["剑光街道", 612, "98.7%", "99.2%"], ["河洲街道", 548, "98.4%", "99.0%"]],
    "practices": [{"heading": "建立驻所住村两种模式", "text": "全市32个派出所均设立母舅驻所调解室。"},
                  {"heading": "推行母舅坐上解纷码", "text": "群众扫码即可实时查看办理进度。"}],
    "problems": "个别乡镇回访不及时。",
    "next_steps": "继续完善考核办法。",
}
MM = 72 / 25.4   # PDF points per millimetre

poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                             reason="poppler-utils (pdftotext, pdftoppm) not installed")


def _docx(doc: od.OfficialDocument) -> Document:
    return Document(io.BytesIO(od.render_docx(doc)))


def _docx_text(d: Document) -> str:
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        parts += [c.text for row in t.rows for c in row.cells]
    return "\n".join(parts)


def _pdf(doc: od.OfficialDocument, path: Path) -> Path:
    try:
        path.write_bytes(od.render_pdf(doc))
    except od.FontMissing as e:
        pytest.skip(e.message)
    return path


def _pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def risk_notice() -> od.OfficialDocument:
    return od.fill_template("risk_notice", RISK_VALUES)


@pytest.fixture(scope="module")
def risk_docx(risk_notice) -> Document:
    return _docx(risk_notice)


@pytest.fixture(scope="module")
def risk_pdf(risk_notice, tmp_path_factory) -> Path:
    return _pdf(risk_notice, tmp_path_factory.mktemp("pdf") / "risk_notice.pdf")


@pytest.fixture(scope="module")
def long_pdf(risk_notice, tmp_path_factory) -> Path:
    filler = "母舅与网格员十五分钟内到场，现场调解不成的移送驻所调解室，调解成功后逐案回访满意度。"
    long_doc = od.OfficialDocument(**{**risk_notice.__dict__, "body": [
        od.Block("p", f"第{i}段。{filler * 2}") for i in range(1, 61)]})
    return _pdf(long_doc, tmp_path_factory.mktemp("pdf") / "long.pdf")


# ---- DOCX ------------------------------------------------------------------------------------
def test_docx_holds_number_title_addressee_body_and_case_number(risk_docx):
    text = _docx_text(risk_docx)
    assert "丰综治风提〔2026〕7号" in text
    assert "关于剑光街道邻里纠纷风险的提示函" in text
    assert "剑光街道综治中心：" in [p.text for p in risk_docx.paragraphs]   # own line, full-width colon
    assert "一、基本情况" in text and "特此提示。" in text
    assert CASE_NUMBER in text


def test_docx_signs_with_chinese_date_and_lists_copy_to(risk_docx):
    lines = [p.text for p in risk_docx.paragraphs]
    assert "2026年12月6日" in lines                        # no leading zeros
    assert "\u3000抄送：市委政法委，市公安局，市综治中心。" in lines


def test_docx_names_chinese_fonts_in_the_east_asian_slot(risk_docx):
    def east_asia(run):
        return run._r.rPr.rFonts.get(qn("w:eastAsia"))

    fonts = {}
    for p in risk_docx.paragraphs:
        for run in p.runs:
            if re.search(r"[\u4e00-\u9fff]", run.text):
                assert east_asia(run), f"no East Asian font on “{run.text}”"
                assert run._r.rPr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
                assert run._r.rPr.rFonts.get(qn("w:ascii")) == "Times New Roman"   # Latin fallback
                fonts.setdefault(run.text, east_asia(run))   # first use: the red header
    assert fonts["丰城市12345与110非警务警情联动处置专班"] == "方正小标宋简体"
    assert fonts["关于剑光街道邻里纠纷风险的提示函"] == "方正小标宋简体"
    assert fonts["一、基本情况"] == "黑体"
    assert fonts["（一）压实化解责任"] == "楷体_GB2312"
    assert fonts["特此提示。"] == "仿宋_GB2312"
    body_style = risk_docx.styles["公文正文"].element.rPr.rFonts
    assert body_style.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_docx_prints_the_issuing_body_in_red(risk_docx):
    head = next(r for p in risk_docx.paragraphs for r in p.runs if r.text.startswith("丰城市12345"))
    assert str(head.font.color.rgb) == "C00000"
    assert head.font.size.pt >= 22


def test_docx_page_is_a4_with_gbt_9704_margins(risk_docx):
    sec = risk_docx.sections[0]
    for value, mm in ((sec.page_width, 210), (sec.page_height, 297), (sec.top_margin, 37),
                      (sec.left_margin, 28), (sec.right_margin, 26), (sec.bottom_margin, 35)):
        assert abs(value.mm - mm) <= 0.5


def test_docx_footer_numbers_pages_with_dashes(risk_docx):
    sec = risk_docx.sections[0]
    for footer in (sec.footer, sec.even_page_footer):
        xml = footer._element.xml
        assert "PAGE" in "".join(t.text for t in footer._element.iter(qn("w:instrText")))
        assert "— " in xml and " —" in xml and 'w:fldCharType="begin"' in xml


def test_every_template_kind_fills_and_renders_as_docx():
    order = od.fill_template("supervision_order", {**RISK_VALUES, "case_source": "2026年11月20日110转办"})
    d = _docx(order)
    assert "丰综治督〔2026〕7号" in _docx_text(d)
    assert [c.text for c in d.tables[0].rows[1].cells][1] == CASE_NUMBER

    bulletin = od.fill_template("bulletin", BULLETIN_VALUES)
    assert bulletin.header_style == "bulletin" and bulletin.doc_number == "第16期"
    text = _docx_text(_docx(bulletin))
    assert "工作专报" in text and "第16期" in text
    assert "（二）推行母舅坐上解纷码" in text                 # one heading per listed practice
    assert "\u3000报送：" in text and "剑光街道" in text


# ---- PDF -------------------------------------------------------------------------------------
@poppler
def test_pdf_text_layer_has_title_and_doc_number(risk_pdf):
    text = _pdftotext(risk_pdf)
    assert "关于剑光街道邻里纠纷风险的提示函" in text
    assert "丰综治风提〔2026〕7号" in text
    assert CASE_NUMBER in text


@poppler
def test_pdf_header_is_printed_in_red(risk_pdf, tmp_path):
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(risk_pdf),
                    str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    top = page.crop((0, 0, page.width, page.height // 3))
    red = sum(1 for r, g, b in top.get_flattened_data() if r > 150 and g < 90 and b < 90)
    assert red > 100, "no red header in the top third of page 1"
    bottom = page.crop((0, page.height // 2, page.width, page.height))
    assert not any(r > 150 and g < 90 and b < 90 for r, g, b in bottom.get_flattened_data())


@poppler
def test_pdf_keeps_the_gbt_9704_text_block(risk_pdf):
    words = re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)<',
                       _pdftotext(risk_pdf, "-bbox"))
    addressee = next(float(x0) for x0, _, w in words if w == "剑光街道综治中心：")
    assert abs(addressee - 28 * MM) < 1 * MM                  # flush with the 28 mm margin
    date_right = next(float(x1) for _, x1, w in words if w == "2026年12月6日")
    expected = (28 + 156 - 4 * 156 / 28) * MM                 # four characters in from the right
    assert abs(date_right - expected) < 2 * MM


@poppler
def test_long_body_runs_onto_numbered_pages_of_28_characters(long_pdf):
    text = _pdftotext(long_pdf)
    assert text.count("\f") >= 2
    assert "— 1 —" in text and "— 2 —" in text
    full_lines = [ln for ln in text.splitlines() if re.fullmatch(r"[\u4e00-\u9fff，。、；]+", ln)]
    assert max(len(ln) for ln in full_lines) == 28            # 28 characters a line (GB/T 9704)


@poppler
def test_bulletin_pdf_shows_issue_number_and_table(tmp_path):
    pdf = _pdf(od.fill_template("bulletin", BULLETIN_VALUES), tmp_path / "bulletin.pdf")
    text = _pdftotext(pdf)
    assert "工作专报" in text.replace(" ", "") and "第16期" in text
    assert "剑光街道" in text and "98.7%" in text
    assert "报送：" in text


def test_missing_chinese_font_is_reported_in_chinese(monkeypatch):
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    monkeypatch.setattr(fonts, "_KNOWN_FONT_FILES", {})
    fonts.find_faces.cache_clear()
    try:
        with pytest.raises(od.FontMissing, match="fonts-noto-cjk"):
            od.render_pdf(od.fill_template("risk_notice", RISK_VALUES))
    finally:
        fonts.find_faces.cache_clear()


# ---- templates -------------------------------------------------------------------------------
def test_missing_placeholder_raises_naming_it():
    values = {k: v for k, v in RISK_VALUES.items() if k != "case_number"}
    with pytest.raises(ValueError, match="case_number") as err:
        od.fill_template("risk_notice", values)
    assert "案件编号" in str(err.value) and "缺少" in str(err.value)


def test_template_fields_list_what_a_form_must_ask_for():
    fields = od.template_fields("risk_notice")
    assert fields["case_number"] == "案件编号"
    assert "year" not in fields and "date" not in fields      # filled automatically


def test_broken_template_file_is_reported_to_the_admin(tmp_path):
    (tmp_path / "risk_notice.json").write_text(
        '{"issuing_body": "专班", "issuer": "专班", "title": "关于{subject.x}的提示函", "body": []}',
        encoding="utf-8")
    with pytest.raises(ValueError, match="risk_notice.json"):
        od.fill_template("risk_notice", RISK_VALUES, directory=tmp_path)
    (tmp_path / "risk_notice.json").write_text("{不是 JSON", encoding="utf-8")
    with pytest.raises(ValueError, match="不是有效的 JSON"):
        od.load_template("risk_notice", directory=tmp_path)


def test_a_case_number_is_never_split_across_lines():
    """丰-2026-000002 moves to the next line whole; it used to break after 丰."""
    text = "经查，案件编号为丰-2026-000002的纠纷仍未办结"
    lines = ["".join(line) for line in wrap_units(split_units(text), 20, 20, len)]
    assert lines == ["经查，案件编号为", "丰-2026-000002的纠纷仍未办结"]
