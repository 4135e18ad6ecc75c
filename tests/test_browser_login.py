"""Real browser: a staff member logs in, sees the Chinese home page and cannot open admin pages."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def login(page, base, username, password="demo1234", path="/"):
    page.goto(base + path)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_staff_logs_in_sees_home_and_logs_out(page, live_server):
    login(page, live_server.url, "staff")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=30000)
    expect(page.get_by_text("丰城市非警务警情联动处置体系")).to_be_visible()
    page.screenshot(path="test-artifacts/staff-home.png", full_page=True)
    expect(page.get_by_role("link", name="用户管理")).to_have_count(0)  # admin page not in the menu
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=20000)
    expect(page.get_by_role("heading", name="工作台")).to_have_count(0)


def test_typed_admin_url_shows_no_admin_content(page, live_server):
    login(page, live_server.url, "staff")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=30000)
    page.goto(live_server.url + "/admin_users")
    expect(page.get_by_role("button", name="登录")).to_be_visible(timeout=20000)  # a new page load must log in again
    login(page, live_server.url, "staff", path="/admin_users")  # log in on the typed URL
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=30000)
    expect(page.get_by_role("heading", name="用户管理")).to_have_count(0)


def test_wrong_password_gives_neutral_message(page, live_server):
    login(page, live_server.url, "staff", "wrong-password1")
    expect(page.get_by_text("用户名或密码错误。")).to_be_visible(timeout=20000)
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1"))
