"""Real browser at a phone's size: a citizen opens the dispute-code page and asks for a consultation."""
import re

import pytest
from playwright.sync_api import expect

from db.engine import get_engine, session_scope
from services.codes import dispute_codes
from tests.test_dispute_codes import make_case
from tests.ui import ensure_user

pytestmark = pytest.mark.browser


def test_citizen_reads_progress_and_requests_a_consultation(page, live_server):
    url = live_server.database_url
    staff = ensure_user(url, "staff")
    with session_scope(get_engine(url)) as s:
        case = make_case(s, staff, "mediating", {"name": "浏览器标记人"})
        token = dispute_codes.issue_for_case(s, case.id).token
        number = case.number
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/c/{token}")
    expect(page.get_by_text(number)).to_be_visible(timeout=15000)
    expect(page.get_by_text("现场调解中").first).to_be_visible()
    expect(page.get_by_text("浏览器标记人")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    page.screenshot(path="test-artifacts/public-page-phone.png", full_page=True)
    page.get_by_label("线上法律咨询").check()
    page.get_by_label("手机号码").fill("13900001111")
    page.get_by_label(re.compile("简要说明")).fill("想了解排水沟占用的法律规定")
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_text("申请已提交")).to_be_visible(timeout=15000)
    expect(page.get_by_text(re.compile(r"丰线〔\d{4}〕\d{6}"))).to_be_visible()
    expect(page.get_by_text("139****1111")).to_be_visible()
    page.screenshot(path="test-artifacts/public-page-request-confirmed.png", full_page=True)
    # the token is the key to this page: it must not end up in the server's log (Streamlit re-enables
    # uvicorn's access log on import unless serve.py turns it off again)
    log = live_server.log_path.read_text(errors="replace")
    assert "Uvicorn running" in log or "Application startup complete" in log  # the log is being written
    assert token not in log
