"""用户管理's sessions tab, the role × page table (menu and README), the production menu, the sidebar name."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.navigation import PAGES, R, pages_for, roles_table_markdown
from db.engine import get_engine, session_scope
from services import sessions
from services.roles import ADMIN, LEADER, MEDIATOR, STAFF, TASKFORCE, TRAINER
from tests.ui import app_as, by_key, ensure_user, session_token, texts

README = Path(__file__).resolve().parent.parent / "README.md"
ADMIN_PAGES = {"pages/admin_settings.py", "pages/admin_users.py", "pages/org.py", "pages/audit_log.py"}


@pytest.fixture
def url(ui_url):
    return ui_url


def test_readme_roles_table_is_the_navigation_table():
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- roles-table:start -->\n(.*?)\n<!-- roles-table:end -->", text, re.S)
    assert m, "README has no generated roles table"
    assert m.group(1) == roles_table_markdown(), "README roles table is stale: paste roles_table_markdown()"


def test_role_matrix():
    titles = lambda role, **kw: {p.title for p in pages_for(role, **kw)}  # noqa: E731
    # the trainer reads every page but the admin pages, and resets the demo
    assert {p.path for p in pages_for(TRAINER)} == {p.path for p in PAGES if p.path not in ADMIN_PAGES}
    assert all(p.access[TRAINER] == R for p in PAGES if TRAINER in p.access and p.title != "演示数据")
    assert all(p.access[LEADER] == R for p in PAGES if LEADER in p.access)  # leaders never write
    assert "案件登记" in titles(MEDIATOR, mediator_kind="station")
    assert "案件登记" not in titles(MEDIATOR, mediator_kind="village")  # the page is for station rooms
    for role in (STAFF, LEADER, TASKFORCE, MEDIATOR):
        assert "组织机构" not in titles(role) and "用户管理" not in titles(role)
    assert "操作日志" in titles(TASKFORCE) and "操作日志" in titles(ADMIN)
    assert "演示数据" in titles(ADMIN) and "演示数据" not in titles(ADMIN, mode="production")


def test_production_admin_menu_has_no_demo_page(url, monkeypatch):
    monkeypatch.setenv("APP_MODE", "production")
    at = app_as(url, ADMIN)
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/demo_reset.py")
    at.switch_page("pages/admin_users.py")  # the other admin pages are there
    at.run()
    assert "用户管理" in texts(at)


def test_village_mediator_has_no_intake_page(url):
    from db.models import Mediator, User
    from sqlalchemy import select
    ensure_user(url, MEDIATOR)
    with session_scope(get_engine(url)) as s:
        village = s.scalar(select(Mediator.id).where(Mediator.kind == "village").order_by(Mediator.id))
        s.scalar(select(User).where(User.username == f"t_{MEDIATOR}")).mediator_id = village
    at = app_as(url, MEDIATOR)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/case_intake.py")


def test_sidebar_name_is_plain_text(url):
    from db.models import User
    from sqlalchemy import select
    ensure_user(url, STAFF)
    with session_scope(get_engine(url)) as s:
        s.scalar(select(User).where(User.username == f"t_{STAFF}")).display_name = "**王五**[点我](http://x)"
    at = app_as(url, STAFF)
    assert "**王五**[点我](http://x)" in [t.value for t in at.sidebar.text]


def _staff_session_id(url):
    from db.models import User, UserSession
    from sqlalchemy import select
    with session_scope(get_engine(url)) as s:
        return s.scalar(select(UserSession.id).join(User, User.id == UserSession.user_id)
                        .where(User.username == f"t_{STAFF}", UserSession.revoked_at.is_(None)))


def test_admin_sees_sessions_and_forces_one_out(url):
    victim = session_token(url, STAFF)
    at = app_as(url, ADMIN, "pages/admin_users.py")
    table = at.dataframe[-1].value
    assert f"测试{STAFF}（t_{STAFF}）" in set(table["用户"])
    assert "127.0.0.1" in set(table["登录地址"])
    by_key(at.selectbox, "session_pick").set_value(_staff_session_id(url))
    by_key(at.button, "session_kill").click().run()
    assert not at.exception
    with session_scope(get_engine(url)) as s:
        assert sessions.lookup(s, victim) is None
    assert f"t_{STAFF}" not in set(at.dataframe[-1].value["用户"].str.cat())


def test_admin_sets_the_session_limits(keep_ui_settings, url):
    at = app_as(url, ADMIN, "pages/admin_users.py")
    by_key(at.number_input, "session_idle").set_value(3)
    next(b for b in at.button if b.label == "保存会话时限").click().run()
    assert "空闲超时应为 5–480 的整数（分钟）。" in texts(at)
    by_key(at.number_input, "session_idle").set_value(20)
    next(b for b in at.button if b.label == "保存会话时限").click().run()
    with session_scope(get_engine(url)) as s:
        assert sessions.limits(s) == (20, 12)
