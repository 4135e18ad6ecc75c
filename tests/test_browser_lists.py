"""Real browser: staff export the case list of the demo. The downloaded workbook holds every case
the list counts (not the 20 on screen), with the parties' numbers, and the export is logged."""
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.models import AuditEvent, Case
from tests.test_browser_login import login

pytestmark = pytest.mark.browser


def test_staff_export_the_whole_case_list(page, live_server, tmp_path):
    login(page, live_server.url, "staff")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=30000)
    page.get_by_role("link", name="案件列表").first.click()
    expect(page.get_by_role("heading", name="案件列表")).to_be_visible(timeout=30000)
    with session_scope(get_engine(live_server.database_url)) as s:
        total = s.scalar(select(func.count()).select_from(Case))
        logged = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "personal.export"))
    expect(page.get_by_text(f"共 {total:,} 件，第 1 /")).to_be_visible(timeout=30000)

    with page.expect_download(timeout=120000) as info:
        page.get_by_role("button", name="导出 Excel").first.click()
    download = info.value
    assert re.fullmatch(r"案件列表_\d{8}\.xlsx", download.suggested_filename), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    ws = load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("案件列表（筛选条件：全部；导出时间：")
    assert rows[1][0] == "案件编号" and rows[1][-1] == "当事人及电话"
    assert len(rows) - 2 == total > 20
    assert any(re.search(r"1\d{10}", str(r[-1] or "")) for r in rows[2:])  # staff get the numbers in full
    with session_scope(get_engine(live_server.database_url)) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "personal.export")) == logged + 1
