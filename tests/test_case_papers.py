"""Case paperwork (人民调解文书) as staff read it: DOCX read back with python-docx, PDFs through
poppler (pdftotext, pdfinfo). Pure rendering, no database: services/documents/case_papers.py.
Each kind is rendered once per module (PDF rendering is the slow part)."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

from services.documents import case_papers as cp
from services.documents import FontMissing, OfficialDocError

UTC = dt.timezone.utc
poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdfinfo")),
                             reason="poppler-utils (pdftotext, pdfinfo) not installed")
# the title each document prints (the dossier's contents name them by cp.NAMES)
TITLES = {"纠纷登记表": "矛盾纠纷受理登记表", "人民调解记录": "人民调解记录", "人民调解协议书": "人民调解协议书",
          "司法确认申请书": "司法确认申请书", "回访记录": "人民调解回访记录", "结案报告": "结案报告"}


def _at(day: int, hour: int = 2) -> dt.datetime:
    return dt.datetime(2023, 7, day, hour, 0, tzinfo=UTC)


def papers(**overrides) -> cp.CasePapers:
    data = dict(
        case_id=1, case_number="丰-2023-000123", category="邻里纠纷", category_code="neighbor", source="110 接警",
        received_at=_at(3), place="剑光街道 · 龙凤社区", address="龙凤社区幸福小区3栋",
        description="两户因排水沟堵塞发生争执，王小明家院落积水。", complexity="简单", complexity_code="simple",
        mode="驻所", committee="剑光派出所母舅驻所调解室", status="closed", status_name="已闭环",
        parties=[cp.PartyPaper("王小明", "申请人", phone="13800138000", id_number="360981198001011234",
                               address="幸福小区3栋101室"),
                 cp.PartyPaper("李大海", "被申请人", phone="13900139000")],
        mediators=["张国平", "刘秀英"], settled_at=_at(4), settled_level="驻所调解室",
        agreement_summary="李大海疏通排水沟并赔偿王小明损失", agreement_amount=Decimal("3000"),
        follow_ups=[cp.FollowUpPaper(_at(12), "电话回访", "陈回访", "满意", True, None, "双方已和好")],
        closed_at=_at(13), court="丰城市人民法院",
        timeline=[cp.TimelineEntry(_at(3), "周登记", "登记受理"), cp.TimelineEntry(_at(4), "张国平", "调解成功")])
    data.update(overrides)
    return cp.CasePapers(**data)


def docx_text(data: bytes) -> str:
    d = Document(io.BytesIO(data))
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext"] + (["-f", str(first), "-l", str(last or first)] if first else []) + [str(path), "-"]
    return re.sub(r"\s+", "", subprocess.run(args, capture_output=True, text=True, check=True).stdout)


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", out).group(1))


def _pdf(tmp: Path, name: str, make) -> Path:
    try:
        data = make()
    except FontMissing as e:
        pytest.skip(e.message)
    path = tmp / name
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("papers")


@pytest.fixture(scope="module")
def agreement_pdf(tmp) -> Path:
    return _pdf(tmp, "agreement.pdf", lambda: cp.render("mediation_agreement", papers(), "pdf"))


@pytest.fixture(scope="module")
def dossier(tmp):
    out = {}

    def make():
        pdf, toc = cp.dossier_pdf(papers())
        out["toc"] = toc
        return pdf
    return _pdf(tmp, "dossier.pdf", make), out["toc"]


# ------------------------------------------------------------------ numbering, terms, blanks
def test_agreement_number_is_derived_from_the_case_number():
    assert cp.agreement_number("丰-2023-000123") == "丰调协〔2023〕123号"
    assert cp.agreement_number("丰-2026-012000") == "丰调协〔2026〕12000号"
    with pytest.raises(OfficialDocError, match="不是“简称-年份-序号”的格式"):
        cp.agreement_number("FC20261201-0037")


def test_agreement_docx_holds_number_committee_parties_terms_copies_and_signature_blocks():
    text = docx_text(cp.render("mediation_agreement", papers(), "docx"))
    assert "人民调解协议书" in text and "编号：丰调协〔2023〕123号" in text
    assert "调解组织：剑光派出所母舅驻所调解室" in text
    # both parties with full personal data: the agreement is the legal record
    assert "申请人：王小明" in text and "360981198001011234" in text and "13800138000" in text
    assert "被申请人：李大海" in text and "13900139000" in text
    assert "一、纠纷主要事实、争议事项" in text and "王小明家院落积水" in text
    # no structured terms yet: the summary is term 1, with the amount
    assert "1. 李大海疏通排水沟并赔偿王小明损失，金额3,000元" in text
    assert "本协议一式3份" in text
    assert text.count("当事人（签名盖章或按指印）") == 2
    assert "人民调解员（签名）：＿＿＿＿＿＿＿＿＿＿（张国平）" in text and "（刘秀英）" in text
    assert "人民调解委员会（印）" in text and "2023年7月4日" in text


def test_fields_the_database_lacks_are_underlined_blanks_for_handwriting():
    text = docx_text(cp.render("mediation_agreement", papers(), "docx"))
    assert f"性别：{cp.BLANK}，民族：{cp.BLANK}，出生日期：{cp.BLANK}，职业或工作单位：{cp.BLANK}" in text
    assert f"履行方式：{cp.BLANK}，履行期限：{cp.BLANK}前" in text
    # 李大海 has no ID number or address on file
    assert f"住所：{cp.BLANK}，公民身份号码：{cp.BLANK}，联系方式：13900139000" in text
    assert "None" not in text


def test_structured_terms_and_party_fields_are_printed_when_known():
    p = papers(terms=[cp.Term("李大海疏通排水沟", None, "自行施工", dt.date(2023, 7, 10)),
                      cp.Term("李大海赔偿王小明损失", Decimal("3000.50"), "银行转账", "2023年7月15日")],
               parties=[cp.PartyPaper("王小明", "申请人", "男", "汉族", dt.date(1980, 1, 1), "个体户", "幸福小区",
                                      "360981198001011234", "13800138000")], copies=4)
    text = docx_text(cp.render("mediation_agreement", p, "docx"))
    assert "1. 李大海疏通排水沟，履行方式：自行施工，履行期限：2023年7月10日前。" in text
    assert "2. 李大海赔偿王小明损失，金额3,000.50元，履行方式：银行转账，履行期限：2023年7月15日前。" in text
    assert "性别：男，民族：汉族，出生日期：1980年1月1日，职业或工作单位：个体户" in text
    assert "本协议一式4份" in text


@poppler
def test_agreement_pdf_prints_the_same_fields(agreement_pdf):
    text = pdf_text(agreement_pdf)
    for want in ("人民调解协议书", "编号：丰调协〔2023〕123号", "剑光派出所母舅驻所调解室", "360981198001011234",
                 "本协议一式3份", "当事人（签名盖章或按指印）", "人民调解员（签名）", "人民调解委员会（印）",
                 "2023年7月4日"):
        assert want in text, want
    assert "—1—" in text   # pages numbered as the official documents are
    # a blank to write in is never split over two lines (each is printed 6 or 10 wide)
    raw = subprocess.run(["pdftotext", str(agreement_pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert {len(run) for run in re.findall("＿+", raw)} == {len(cp.BLANK), len(cp.SIGN)}


def test_documents_offered_follow_the_case_state():
    assert cp.applicable(papers(status="registered", settled_at=None, follow_ups=[], closed_at=None)) == [
        "registration_form"]
    assert cp.applicable(papers(status="mediating", settled_at=None, follow_ups=[], closed_at=None)) == [
        "registration_form", "mediation_record"]
    assert cp.applicable(papers(status="settled", follow_ups=[], closed_at=None)) == [
        "registration_form", "mediation_record", "mediation_agreement", "confirmation_application"]
    assert cp.applicable(papers()) == ["registration_form", "mediation_record", "mediation_agreement",
                                       "confirmation_application", "follow_up_record", "closing_summary"]
    with pytest.raises(OfficialDocError, match="尚未调解成功"):
        cp.render("mediation_agreement", papers(settled_at=None), "docx")


def test_retention_is_long_term_for_family_land_large_sums_major_or_confirmed_cases():
    assert cp.retention(papers()) == "10年"
    assert cp.retention(papers(category_code="family")) == "长期"
    assert cp.retention(papers(category_code="land")) == "长期"
    assert cp.retention(papers(agreement_amount=Decimal("50000"))) == "长期"
    assert cp.retention(papers(complexity_code="major")) == "长期"
    assert cp.retention(papers(confirmation=cp.Confirmation("丰城市人民法院", dt.date(2023, 7, 6)))) == "长期"


# ------------------------------------------------------------------ the other documents
def test_mediation_record_prints_each_session_or_a_blank_form():
    blank = docx_text(cp.render("mediation_record", papers(), "docx"))
    assert "人民调解记录" in blank and "案件编号：丰-2023-000123" in blank and "一、第1次调解" in blank
    assert f"时间\n{cp.BLANK}" in blank and "记录人（签名）" in blank
    p = papers(sessions=[cp.MediationSession(_at(3, 7), "剑光派出所调解室", ["王小明", "李大海", "张国平"],
                                             "李大海同意疏通", "三日内疏通"),
                         cp.MediationSession(_at(4, 1), "龙凤社区", ["王小明", "李大海"], "商定赔偿", "赔偿3000元")])
    text = docx_text(cp.render("mediation_record", p, "docx"))
    assert "一、第1次调解" in text and "二、第2次调解" in text
    assert "2023年7月3日15:00" in text and "王小明、李大海、张国平" in text and "赔偿3000元" in text


def test_confirmation_application_cites_the_agreement_and_attaches_it():
    text = docx_text(cp.render("confirmation_application", papers(), "docx"))
    assert text.index("司法确认申请书") < text.index("编号：丰调协〔2023〕123号")   # the agreement follows
    assert "请求人民法院确认申请人于2023年7月4日经剑光派出所母舅驻所调解室主持调解达成的人民调解协议" \
           "（编号：丰调协〔2023〕123号）有效" in text
    assert "此致\n丰城市人民法院" in text
    assert "附件：人民调解协议书（编号：丰调协〔2023〕123号）" in text
    assert text.count("申请人（签名盖章或按指印）") == 2


def test_follow_up_record_prints_method_time_satisfaction_and_each_term():
    p = papers(follow_ups=[cp.FollowUpPaper(_at(12), "电话回访", "陈回访", "满意", True, None, "双方已和好"),
                           cp.FollowUpPaper(_at(20), "上门回访", "陈回访", "基本满意", None, ["已履行", "部分履行"], "")],
               terms=[cp.Term("疏通排水沟"), cp.Term("赔偿损失", Decimal("3000"))])
    text = docx_text(cp.render("follow_up_record", p, "docx"))
    assert "人民调解回访记录" in text and "一、2023年7月12日10:00 电话回访" in text
    assert "满意" in text and "第1项：已履行；第2项：已履行" in text and "双方已和好" in text
    assert "二、2023年7月20日10:00 上门回访" in text and "第1项：已履行；第2项：部分履行" in text


def test_registration_form_and_closing_summary_carry_the_intake_and_the_outcome():
    reg = docx_text(cp.render("registration_form", papers(), "docx"))
    assert "矛盾纠纷受理登记表" in reg and "2023年7月3日10:00" in reg and "龙凤社区幸福小区3栋" in reg
    assert "当事人（申请人）" in reg and "王小明；联系电话：13800138000；公民身份号码：360981198001011234" in reg
    closing = docx_text(cp.render("closing_summary", papers(), "docx"))
    assert "结案报告" in closing and "调解成功（驻所调解室）" in closing and "结案日期\n2023年7月13日" in closing
    assert "2023年7月12日 电话回访，满意" in closing and "登记受理" in closing


# ------------------------------------------------------------------ the dossier
@poppler
def test_dossier_is_cover_contents_and_every_document_with_matching_page_numbers(dossier):
    path, toc = dossier
    names = [n for n, _ in toc]
    # no judicial confirmation on file: no application in the archive
    assert names == ["纠纷登记表", "人民调解记录", "人民调解协议书", "回访记录", "结案报告"]
    cover, contents = pdf_text(path, 1), pdf_text(path, 2)
    assert "人民调解卷宗" in cover and "丰-2023-000123" in cover and "王小明、李大海" in cover
    assert "保管期限10年" in cover and "归档日期2023年7月13日" in cover and "张国平、刘秀英" in cover
    assert f"本卷页数共{pdf_pages(path)}页" in cover
    assert "卷内目录" in contents
    for i, (name, page) in enumerate(toc, 1):
        assert f"{i}{name}{page}" in contents, (name, page)
        assert pdf_text(path, page).startswith(TITLES[name]), (name, page)   # the page opens with it
    assert toc[0][1] == 3
    assert pdf_pages(path) >= toc[-1][1]


def test_an_open_case_has_no_dossier():
    with pytest.raises(OfficialDocError, match="尚未闭环归档"):
        cp.dossier_pdf(papers(closed_at=None, status="settled"))
