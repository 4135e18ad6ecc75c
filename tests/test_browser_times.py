"""Real browser: the time a clerk types in 案件登记 is Beijing time whatever the browser's time zone,
and a date outside the allowed range is refused beside the field, never replaced by today."""
import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from db.engine import get_engine, session_scope
from db.models import Case
from services import clock
from tests.test_browser_case_loop import WAIT, fill_intake, go, idle, login

pytestmark = pytest.mark.browser


def type_date(page, label, year, month, day):
    """A Streamlit date input: its year, month and day segments, typed as a user types them."""
    page.get_by_role("spinbutton", name=f"year, {label}").click()
    page.keyboard.type(year + month + day)
    page.keyboard.press("Tab")


def type_time(page, label, hour, minute):
    page.get_by_role("spinbutton", name=f"hour, {label}").click()
    page.keyboard.type(hour + minute)
    page.keyboard.press("Tab")


def register(browser, base, tz, year, month, day, hour, minute) -> tuple:
    context = browser.new_context(timezone_id=tz, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    incident = f"JJ-{uuid.uuid4().hex[:8]}"
    login(page, base, "staff")
    go(page, "案件登记")
    page.get_by_label("110 警情编号").fill(incident)
    type_date(page, "接报日期", year, month, day)
    type_time(page, "接报时间（北京时间）", hour, minute)
    idle(page)
    fill_intake(page, "欧阳明月", "13912345678", "楼上漏水引发邻里争吵")
    page.get_by_role("button", name="登记案件").click()
    return context, page, incident


def stored_received_at(url, incident):
    with session_scope(get_engine(url)) as s:
        return s.scalar(select(Case.received_at).where(Case.police_incident_no == incident))


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_typed_received_time_is_stored_as_beijing_time(browser, live_server, tz):
    context, page, incident = register(browser, live_server.url, tz, "2025", "06", "15", "07", "30")
    expect(page.get_by_text("案件已登记，编号")).to_be_visible(timeout=WAIT)
    # 07:30 in Beijing is 23:30 UTC the day before: a time-zone slip would move the date too
    assert stored_received_at(live_server.database_url, incident) == clock.local_dt(2025, 6, 15, 7, 30)
    number = re.search(r"丰-\d{4}-\d{6}", page.get_by_text("案件已登记，编号").inner_text()).group(0)
    page.get_by_role("button", name=f"打开案件 {number}").click()
    expect(page.get_by_role("heading", name=number)).to_be_visible(timeout=WAIT)
    # shown in Beijing time (in the details grid, read from its accessible copy)
    expect(page.get_by_text("2025-06-15 07:30").first).to_be_attached(timeout=WAIT)
    context.close()


def test_a_date_out_of_range_is_refused_at_the_field_not_replaced_by_today(browser, live_server):
    context, page, incident = register(browser, live_server.url, "UTC", "2099", "01", "01", "09", "00")
    expect(page.get_by_text("接报时间不能晚于当前时间。").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("案件已登记，编号")).to_have_count(0)
    assert stored_received_at(live_server.database_url, incident) is None  # nothing saved
    context.close()
