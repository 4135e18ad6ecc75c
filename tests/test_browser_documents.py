"""Real browser: a leader downloads a risk notice and a meeting's minutes. The files carry the
document's name and open as real DOCX and PDF."""
import re
import subprocess

import pytest
from docx import Document
from playwright.sync_api import expect

from tests.test_browser_login import login

pytestmark = pytest.mark.browser


def _download(page, button: str, tmp_path):
    with page.expect_download(timeout=60000) as info:
        page.get_by_role("button", name=button).first.click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path


def _docx_text(path) -> str:
    doc = Document(path)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_leader_downloads_a_notice_and_the_minutes_named_after_them(page, live_server, tmp_path):
    login(page, live_server.url, "leader")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=30000)

    page.get_by_role("link", name="风险提示与督办").first.click()
    expect(page.get_by_role("heading", name="风险提示与督办")).to_be_visible(timeout=30000)
    name, path = _download(page, "下载 DOCX", tmp_path)
    assert re.fullmatch(r"(风险提示函|督办单)_(丰\S+〔\d{4}〕\d+号|草稿\d+)\.docx", name), name
    text = _docx_text(path)
    assert ("风险提示函" in text or "督办单" in text) and re.search(r"丰-\d{4}-\d{6}", text)

    page.get_by_role("link", name="协调会").first.click()
    expect(page.get_by_role("heading", name="协调会")).to_be_visible(timeout=30000)
    name, path = _download(page, "下载纪要（Word）", tmp_path)
    assert re.fullmatch(r"会议纪要_\d{4}-\d{2}-\d{2}_(协调会|月度例会)\.docx", name), name
    assert "现将会议议定事项纪要如下" in _docx_text(path)
    name, path = _download(page, "下载纪要（PDF）", tmp_path)
    assert name.endswith(".pdf") and path.read_bytes()[:5] == b"%PDF-"
    pdf_text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "议定事项" in pdf_text
