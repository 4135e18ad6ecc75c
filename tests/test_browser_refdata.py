"""Real browser: reference data is cached per server process (services/refdata.py), yet a category the
admin adds on 系统设置 is offered to a staff member already working in another browser at their next
click, and one removed by another process (this test's, through the service) goes within a second."""
import re

import pytest
from playwright.sync_api import expect

from db.engine import get_engine, session_scope
from db.models import DisputeCategory
from services import admin_config
from services.roles import ADMIN, Actor
from tests.test_browser_case_loop import WAIT, go, idle, login

pytestmark = pytest.mark.browser
NAME = "山塘水利纠纷"


def _options(page) -> list[str]:
    """The 纠纷类别 options of the ladder board, read by opening the box and closing it again."""
    idle(page)
    page.get_by_role("combobox", name=re.compile("纠纷类别")).click()
    page.get_by_role("option").first.wait_for(timeout=WAIT)
    names = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return names


def test_a_category_the_admin_adds_is_offered_to_staff_at_their_next_click(page, browser, portal):
    login(page, portal.url, "staff")
    go(page, "分级调处看板")
    assert "邻里纠纷" in _options(page) and NAME not in _options(page)  # the server's copy is in use

    admin = browser.new_context(locale="zh-CN").new_page()
    try:
        login(admin, portal.url, "admin")
        go(admin, "系统设置")
        admin.get_by_role("tab", name="纠纷类别").click()
        admin.get_by_label("名称", exact=True).fill(NAME)
        admin.get_by_role("button", name="新增", exact=True).click()
        expect(admin.get_by_text(f"已新增类别“{NAME}”。")).to_be_visible(timeout=WAIT)
    finally:
        admin.context.close()

    go(page, "工作台")
    go(page, "分级调处看板")
    assert NAME in _options(page)

    # removed by another process (this one, through the service): gone from the server within a second
    with session_scope(get_engine(portal.database_url)) as s:
        cat_id = s.query(DisputeCategory.id).filter(DisputeCategory.name == NAME).scalar()
        admin_config.delete_category(s, Actor(user_id=None, username="t", role=ADMIN), cat_id)
    page.wait_for_timeout(1200)
    go(page, "工作台")
    go(page, "分级调处看板")
    assert NAME not in _options(page)
