"""Real browser, demo database: staff download a settled case's 人民调解协议书 (PDF) and a closed
case's 卷宗 from 案件详情's 案件文书 panel; both open as PDFs with the case's data, and both
downloads are in the audit trail."""
from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from db.engine import get_engine, session_scope
from db.models import AuditEvent, Case
from tests.test_browser_case_loop import WAIT, login
from tests.test_browser_forms import _open_case as _open

pytestmark = pytest.mark.browser


def _number(server, status: str) -> str:
    with session_scope(get_engine(server.database_url)) as s:
        return s.scalar(select(Case.number).where(Case.status == status).order_by(Case.id.desc()).limit(1))


def _download(page, button: str, tmp_path):
    target = page.get_by_role("button", name=button)
    target.scroll_into_view_if_needed()
    with page.expect_download(timeout=120000) as info:
        target.click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path


def _pdf_text(path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def test_staff_download_the_agreement_and_the_dossier_from_case_detail(page, live_server, tmp_path):
    settled, closed = _number(live_server, "settled"), _number(live_server, "closed")
    assert settled and closed
    login(page, live_server.url, "staff")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=WAIT)

    _open(page, settled)
    expect(page.get_by_role("heading", name="案件文书")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="卷宗 PDF")).to_have_count(0)   # not closed: no dossier yet
    name, path = _download(page, "人民调解协议书 PDF", tmp_path)
    assert name == f"{settled}_人民调解协议书.pdf" and path.read_bytes()[:5] == b"%PDF-"
    prefix, year, serial = settled.split("-")
    text = _pdf_text(path)
    assert f"编号：{prefix}调协〔{year}〕{int(serial)}号" in text and "当事人（签名盖章或按指印）" in text

    _open(page, closed)
    name, path = _download(page, "卷宗 PDF", tmp_path)
    assert name == f"{closed}_卷宗.pdf"
    text = _pdf_text(path)
    assert "人民调解卷宗" in text and "卷内目录" in text and closed in text and "保管期限" in text

    with session_scope(get_engine(live_server.database_url)) as s:
        logged = s.execute(select(AuditEvent.action, AuditEvent.object_label).where(
            AuditEvent.action.in_(["papers.download", "papers.dossier"])).order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in logged] == [("papers.download", settled), ("papers.dossier", closed)]
