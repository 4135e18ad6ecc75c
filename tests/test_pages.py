"""Every page renders for every demo account on the demo database (both backends) and shows its
key content; the menu offers exactly the role's pages; other roles cannot reach a page."""

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from components.navigation import PAGES, pages_for
from db.engine import get_engine, session_scope
from db.models import User
from services import sessions
from services.demo import DEMO_ACCOUNTS
from services.roles import ROLES
from tests.conftest import BACKENDS, demo_database
from tests.ui import APP, app_as, by_key, texts


@pytest.fixture
def url(ui_url):
    return ui_url


@pytest.fixture(scope="module", params=BACKENDS)
def demo_url(request, _tmp_dir):
    """One copy of the demo per backend for this module: the pages only read it."""
    url, cleanup = demo_database(request.param, _tmp_dir)
    yield url
    cleanup()


def _as_demo_account(url: str, username: str, path: str) -> AppTest:
    with session_scope(get_engine(url)) as s:
        user = s.scalar(select(User).where(User.username == username))
        token = sessions.create(s, user.id, "127.0.0.1", "AppTest")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = token
    at.switch_page(path)  # the router opens the page on the first run (as a reload of its URL would)
    at.run()
    return at


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _int(value: str) -> int:
    return int(value.replace(",", "").split()[0])


def _case_detail(at, url, username):
    """Open the first case of the account's own list by its number, as a clerk would."""
    lst = _as_demo_account(url, username, "pages/case_list.py")
    number = lst.dataframe[0].value["案件编号"].iloc[0]
    at.text_input(key="cd_lookup").set_value(number)
    by_key(at.button, "cd_lookup_open").click().run()
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == [number]
    assert "基本情况" in [x.value for x in at.subheader]


# What each page must show on the demo data: figures the article reports where the page shows them.
KEY_CONTENT = {
    "pages/home.py": lambda at, url, u: _metric(at, "乡镇/街道") == "32" and "我的功能" in texts(at),
    "pages/case_intake.py": lambda at, url, u: {"来源", "发生地", "纠纷情况", "当事人", "分流"}
    <= {x.value for x in at.subheader},
    "pages/case_list.py": lambda at, url, u: len(at.dataframe[0].value) == 20,
    "pages/case_detail.py": lambda at, url, u: _case_detail(at, url, u) is None,
    # the board opens on the account's own ladder (a village mediator's is the village one)
    "pages/ladder_board.py": lambda at, url, u: [x.value for x in at.subheader]
    == (["现场调解", "住村母舅工作室", "乡镇综治中心", "市综治中心（线上）", "引导司法程序"] if u == "village"
        else ["现场调解", "驻所母舅调解室", "市综治中心", "引导司法程序"])
    and sum(_int(m.value) for m in at.metric if m.label == "在办") > 0,
    "pages/follow_up.py": lambda at, url, u: _int(_metric(at, "待回访")) == len(at.dataframe[0].value) > 0,
    "pages/overdue.py": lambda at, url, u: [_int(_metric(at, k)) for k in ("到场超时", "层级办理超时", "回访超时")]
    == [len(d.value) for d in at.dataframe[:3]] and len(at.dataframe[1].value) > 0,
    "pages/flowchart.py": lambda at, url, u: [x.value for x in at.subheader] == ["图例", "时限"],
    "pages/roster.py": lambda at, url, u: len(at.dataframe[0].value) == 50,
    "pages/duty.py": lambda at, url, u: "此刻谁在值班" in [x.value for x in at.subheader] and len(at.dataframe[0].value) == 7,
    "pages/online_services.py": lambda at, url, u: _int(_metric(at, "已完成")) > 0 and len(at.dataframe[0].value) > 0,
    "pages/video_links.py": lambda at, url, u: _metric(at, "视频连线（次）") == "59"
    and _metric(at, "远程咨询/调解（件）") == "85",
    "pages/dashboard.py": lambda at, url, u: _metric(at, "非警务警情") == "4,956" and _metric(at, "调解成功率") == "98.5%",
    "pages/assessment.py": lambda at, url, u: len(at.dataframe[0].value) == 32,
    "pages/awards.py": lambda at, url, u: len(at.dataframe[0].value) > 0,
    "pages/notices.py": lambda at, url, u: _int(_metric(at, "已办结")) > 0 and "文书台账" in [x.value for x in at.subheader],
    "pages/meetings.py": lambda at, url, u: "会议纪要" in [x.value for x in at.subheader],
    "pages/bulletins.py": lambda at, url, u: len(at.dataframe[0].value) == 16,
    "pages/admin_settings.py": lambda at, url, u: _metric(at, "到场时限") == "15 分钟",
    "pages/admin_users.py": lambda at, url, u: len(at.dataframe[0].value) == len(DEMO_ACCOUNTS),
    "pages/org.py": lambda at, url, u: _metric(at, "乡镇/街道") == "32" and len(at.dataframe[0].value) == 32,
    "pages/audit_log.py": lambda at, url, u: len(at.dataframe[0].value) > 0,
    "pages/demo_reset.py": lambda at, url, u: [b.label for b in at.button if b.key == "demo_reset"] == ["重置演示数据"],
}
# a page may warn the admin about the installation itself (the QR codes point at this machine)
ALLOWED_ERRORS = {"pages/admin_settings.py": "二维码目前指向本机"}


def test_every_page_has_its_key_content_listed():
    assert set(KEY_CONTENT) == {p.path for p in PAGES}


def _demo_account_pages():
    kinds = {"mediator": "station", "village": "village"}
    for username, _, role, _ in DEMO_ACCOUNTS:
        for spec in pages_for(role, kinds.get(username)):
            yield username, spec


@pytest.mark.parametrize("username,spec", list(_demo_account_pages()),
                         ids=[f"{u}-{p.path[6:-3]}" for u, p in _demo_account_pages()])
def test_every_page_shows_its_key_content_to_every_demo_account(demo_url, monkeypatch, username, spec):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    at = _as_demo_account(demo_url, username, spec.path)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [spec.title if not (spec.path == "pages/case_list.py" and username in
                                                              ("mediator", "village")) else "我的案件"]
    allowed = ALLOWED_ERRORS.get(spec.path)
    assert [e.value for e in at.error if not (allowed and allowed in e.value)] == []
    assert KEY_CONTENT[spec.path](at, demo_url, username), f"{username} on {spec.path}: " + texts(at)[:400]


@pytest.mark.parametrize("role", list(ROLES))
def test_menu_offers_exactly_the_role_pages(url, role):
    at = app_as(url, role)
    assert not at.exception
    allowed = {p.path for p in pages_for(role)}
    for spec in PAGES:
        if spec.path in allowed:
            at.switch_page(spec.path)  # registered for this role
        else:
            # not registered in this role's navigation: no way to open it, URL or otherwise
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(spec.path)


def test_login_gate_and_logout(url):
    from db.engine import get_engine, session_scope
    from services import sessions
    from tests.ui import APP, session_token
    from streamlit.testing.v1 import AppTest

    at = app_as(url, None)  # no session: only the way to the login form, no menu, no page
    assert "请先登录。" in [i.value for i in at.info]
    assert "工作台" not in texts(at)
    token = session_token(url, "staff")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = token
    at.run()
    assert not at.exception
    assert "工作台" in texts(at)
    by_key(at.button, "logout").click().run()
    assert "actor" not in at.session_state
    assert "您已退出登录。" in [s.value for s in at.success]
    assert "工作台" not in texts(at)
    with session_scope(get_engine(url)) as s:
        assert sessions.lookup(s, token) is None  # revoked server-side
    replay = AppTest.from_file(APP, default_timeout=60)
    replay.session_state["session_token"] = token  # the old cookie, replayed
    replay.run()
    assert "工作台" not in texts(replay)
    assert "请先登录。" in [i.value for i in replay.info]


@pytest.mark.parametrize("role,path", [(r, p.path) for r in ROLES for p in PAGES if r not in p.roles])
def test_page_run_without_router_still_refuses_other_roles(url, role, path):
    """Even if a page script ran outside st.navigation, its guard refuses the role."""
    from streamlit.testing.v1 import AppTest

    from tests.ui import ROOT, ensure_user
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.session_state["actor"] = ensure_user(url, role)
    at.run()
    assert [e.value for e in at.error] == ["您的角色无权访问该页面。"]
    assert not at.dataframe and not at.button
