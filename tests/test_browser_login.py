"""Real browser: the /login form, a session that survives reloads and tabs, logout that holds,
idle timeout, and an admin's password reset reaching an open tab."""
import datetime as dt
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from db.engine import get_engine, session_scope
from db.models import User, UserSession
from services import auth, refdata, sessions, settings
from services.roles import SYSTEM
from tests.browser_support import DEMO_PASSWORD, SERVERS, sign_in
from tests.test_browser_case_loop import choose, idle

pytestmark = pytest.mark.browser
WAIT = 30000


def login_form(page, base, username, password="demo1234", path="/"):
    """Through the /login form, as a user does (the tests of this file are about it)."""
    page.goto(base + path)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def login(page, base, username, password=DEMO_PASSWORD, path="/"):
    """For tests about something else: a demo account of a live portal gets its session cookie
    directly (tests.browser_support.sign_in); anything else goes through the form."""
    if password == DEMO_PASSWORD and base in SERVERS:
        sign_in(page, base, username, path)
    else:
        login_form(page, base, username, password, path)


def home(page):
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=WAIT)


def login_form_shown(page):
    expect(page.get_by_label("用户名")).to_be_visible(timeout=WAIT)
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_test_id("stSidebarNavItems")).to_have_count(0)


def _db(portal):
    return session_scope(get_engine(portal.database_url))


def _new_user(portal, username):
    with _db(portal) as s:
        if s.scalar(select(User.id).where(User.username == username)) is None:
            auth.create_user(s, SYSTEM, username, "浏览器测试员", "staff", "first1234")


def test_staff_logs_in_sees_home_and_logs_out(page, portal):
    login_form(page, portal.url, "staff")
    home(page)
    expect(page.get_by_text("丰城市非警务警情联动处置体系")).to_be_visible()
    page.screenshot(path="test-artifacts/staff-home.png", full_page=True)
    expect(page.get_by_role("link", name="用户管理")).to_have_count(0)  # admin page not in the menu
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("您已退出登录。")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("heading", name="工作台")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNavItems")).to_have_count(0)  # the old menu went with the session


def test_reload_and_a_new_tab_keep_the_login(page, portal):
    login_form(page, portal.url, "staff")
    home(page)
    page.reload()
    home(page)
    tab = page.context.new_page()
    tab.goto(portal.url + "/case_list")
    expect(tab.get_by_role("heading", name="案件列表")).to_be_visible(timeout=WAIT)


def test_logout_then_back_reload_and_replayed_cookie_get_the_login(page, portal, browser):
    login_form(page, portal.url, "staff")
    home(page)
    old = next(c for c in page.context.cookies() if c["name"] == sessions.COOKIE)
    assert old["httpOnly"] and old["sameSite"] == "Strict"
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("您已退出登录。")).to_be_visible(timeout=WAIT)
    page.go_back()
    page.reload()
    login_form_shown(page)
    other = browser.new_context()  # somebody replays the old cookie
    other.add_cookies([{k: old[k] for k in ("name", "value", "domain", "path")}])
    thief = other.new_page()
    thief.goto(portal.url + "/")
    login_form_shown(thief)
    other.close()


def test_typed_admin_url_shows_no_admin_content(page, portal):
    login_form(page, portal.url, "staff")
    home(page)
    page.goto(portal.url + "/admin_users")
    home(page)  # still logged in, on a page the role has
    expect(page.get_by_role("heading", name="用户管理")).to_have_count(0)


def test_wrong_password_gives_neutral_message(page, portal):
    login_form(page, portal.url, "staff", "wrong-password1")
    expect(page.get_by_text("用户名或密码错误。")).to_be_visible(timeout=20000)
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1"))


def test_idle_session_ends_at_the_next_interaction(page, portal):
    _new_user(portal, "idle_user")
    login_form(page, portal.url, "idle_user", "first1234")
    home(page)
    with _db(portal) as s:
        settings.put(s, sessions.IDLE_KEY, 5)  # a short idle timeout, set the way the admin sets it
        # nobody touched the tab for six minutes
        uid = s.scalar(select(User.id).where(User.username == "idle_user"))
        s.execute(update(UserSession).where(UserSession.user_id == uid)
                  .values(last_seen_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=6)))
    # the portal holds settings per process and looks for another process's change at most once per
    # refdata.CHECK_SECONDS (docs/performance.md): the click must come after that window
    time.sleep(refdata.CHECK_SECONDS + 0.5)
    try:
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="案件列表").click()
        expect(page.get_by_text("您的登录已失效")).to_be_visible(timeout=WAIT)
        expect(page.get_by_role("heading", name="案件列表")).to_have_count(0)
        page.reload()
        login_form_shown(page)
    finally:
        with _db(portal) as s:
            settings.put(s, sessions.IDLE_KEY, sessions.IDLE_DEFAULT)


def test_password_reset_by_admin_logs_the_user_out_of_an_open_tab(page, portal, browser):
    _new_user(portal, "reset_user")
    login_form(page, portal.url, "reset_user", "first1234")
    home(page)
    admin_context = browser.new_context(viewport={"width": 1400, "height": 1000})  # the user picker sits below the list
    admin = admin_context.new_page()
    login_form(admin, portal.url, "admin")
    admin.get_by_test_id("stSidebarNavItems").get_by_role("link", name="用户管理").click()
    expect(admin.get_by_role("heading", name="用户管理")).to_be_visible(timeout=WAIT)
    admin.get_by_role("tab", name="修改用户").click()
    choose(admin, "选择用户", "reset_user")  # the form is drawn anew for the chosen user: type into the new one
    field = admin.get_by_label("新密码")
    field.fill("second1234")
    field.press("Tab")  # committed before the click, so a slow rerun cannot draw the field anew under it
    idle(admin)
    expect(field).to_have_value("second1234")
    admin.get_by_role("button", name="重置密码").click()
    expect(admin.get_by_text("密码已重置，账号已解锁：reset_user")).to_be_visible(timeout=WAIT)
    admin_context.close()
    # the user's tab, open all along, notices at its next click
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="案件列表").click()
    expect(page.get_by_text("您的登录已失效")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stSidebarNavItems")).to_have_count(0)


def test_every_response_forbids_framing(portal):
    for path in ("/", "/login", "/_stcore/health", "/healthz"):
        with urllib.request.urlopen(portal.url + path) as r:
            assert r.headers["X-Frame-Options"] == "DENY", path
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
            assert r.headers["X-Content-Type-Options"] == "nosniff", path
