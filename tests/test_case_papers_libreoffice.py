"""The Word files of the case papers as LibreOffice reads them: every kind converted to PDF by
LibreOffice Writer (headless, one run for all of them) holds its title, the case's fields and the
Chinese text, on the expected number of pages. python-docx reading a file back (tests/
test_case_papers.py) does not prove that another word processor lays it out; this does."""
from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest

from services.documents import case_papers as cp
from tests.test_case_papers import TITLES, papers, pdf_pages, pdf_text


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.fail("LibreOffice Writer is needed (apt-get install libreoffice-writer-nogui)", pytrace=False)
    return found


# what each kind must print, whatever the layout (spaces are removed before comparing)
FIELDS = {
    "registration_form": ["丰-2023-000123", "王小明", "13800138000", "邻里纠纷", "剑光街道"],
    "mediation_record": ["剑光派出所母舅驻所调解室", "双方陈述积水经过", "李大海同意疏通"],
    "mediation_agreement": ["丰调协〔2023〕123号", "王小明", "360981198001011234", "李大海疏通排水沟",
                            "3,000", "一式3份", "人民调解委员会（印）"],
    "confirmation_application": ["丰城市人民法院", "丰调协〔2023〕123号", "王小明"],
    "follow_up_record": ["电话回访", "满意", "双方已和好"],
    "closing_summary": ["丰-2023-000123", "调解成功"],
}


def test_libreoffice_lays_out_every_kind_of_case_paper(tmp_path):
    p = papers(copies=3, sessions=[cp.MediationSession(papers().received_at, "剑光派出所母舅驻所调解室",
                                                       ["张国平", "王小明", "李大海"], "双方陈述积水经过，母舅释法说理",
                                                       "李大海同意疏通排水沟并赔偿")],
               terms=[cp.Term("李大海疏通排水沟并赔偿王小明损失", Decimal("3000"), "银行转账", "2023-07-20")],
               confirmation=cp.Confirmation("丰城市人民法院", papers().settled_at.date()))
    assert set(FIELDS) == set(cp.NAMES)  # every kind is checked
    for kind in FIELDS:
        (tmp_path / f"{kind}.docx").write_bytes(cp.render(kind, p, "docx"))
    profile = (tmp_path / "profile").as_uri()  # its own profile: no lock shared with another run
    done = subprocess.run([_soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(tmp_path / "out"), *[str(tmp_path / f"{k}.docx") for k in FIELDS]],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    for kind, fields in FIELDS.items():
        pdf = tmp_path / "out" / f"{kind}.pdf"
        assert pdf.exists(), (kind, done.stdout, done.stderr)
        text = pdf_text(pdf)
        title = TITLES[cp.NAMES[kind]]
        assert title in text, (kind, text[:200])
        for field in fields:
            assert re.sub(r"\s+", "", field) in text, (kind, field)
        # the application carries the agreement after it; every other kind fits its content on 1-3 pages
        assert 1 <= pdf_pages(pdf) <= (6 if kind == "confirmation_application" else 3), kind
        assert "□" not in text and "\ufffd" not in text  # no missing glyphs
