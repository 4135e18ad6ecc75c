"""Server-side sessions and the /login form (Starlette TestClient, both databases)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from db.engine import session_scope
from db.models import AuditEvent, UserSession
from services import auth, clock, sessions
from services.errors import PermissionDenied
from services.roles import ADMIN, LEADER, STAFF, SYSTEM
from web import auth as web_auth
from web.routes import routes


def _user(engine, username="alice", role=STAFF, password="secret123"):
    with session_scope(engine) as s:
        return auth.create_user(s, SYSTEM, username, "测试用户", role, password).id


def _admin(engine):
    with session_scope(engine) as s:
        return auth.actor_for(auth.create_user(s, SYSTEM, "boss", "管理员", ADMIN, "secret123"))


@pytest.fixture
def client(db_url, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://testserver")  # plain http: no Secure cookies
    web_auth.login_posts.clear()
    with TestClient(Starlette(routes=routes()), client=("198.51.100.9", 50000), follow_redirects=False) as c:
        yield c
    web_auth.login_posts.clear()


def _post_login(client, username, password, csrf=None):
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf": token if csrf is None else csrf, "next": "/case_list"})


def _message(response) -> str:
    m = re.search(r'<p class="err" role="alert">([^<]*)</p>', response.text)
    return m.group(1) if m else ""


def test_form_login_sets_a_strict_httponly_cookie_and_a_hashed_session(client, engine):
    uid = _user(engine)
    form = client.get("/login")
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.text and "用户名" in form.text
    assert form.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    response = _post_login(client, "alice", "secret123")
    assert response.status_code == 303 and response.headers["location"] == "/case_list"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mj_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the test's public base URL is http
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 32
    with session_scope(engine) as s:
        row = s.scalar(select(UserSession))
        assert row.user_id == uid and row.client_addr == "198.51.100.9"
        assert token not in row.token_hash  # only the hash is stored
        assert sessions.lookup(s, token).user.username == "alice"


def test_cookie_is_secure_when_the_public_address_is_https(db_url, engine, monkeypatch):
    _user(engine)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://jiefen.example.gov.cn")
    web_auth.login_posts.clear()
    with TestClient(Starlette(routes=routes()), base_url="https://testserver", follow_redirects=False) as client:
        response = _post_login(client, "alice", "secret123")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("mj_session="))
    assert "Secure" in cookie


def test_post_without_the_csrf_token_starts_no_session(client, engine):
    _user(engine)
    response = _post_login(client, "alice", "secret123", csrf="forged")
    assert response.status_code == 403 and "页面已过期" in response.text
    with session_scope(engine) as s:
        assert s.scalar(select(UserSession)) is None


def test_next_cannot_leave_the_site():
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "evil"):
        assert web_auth.safe_next(bad) == "/"
    assert web_auth.safe_next("/case_detail") == "/case_detail"


def test_lockout_answers_the_same_for_unknown_and_known_names(client, engine):
    _user(engine)
    known = [_message(_post_login(client, "alice", f"wrong-{i}x")) for i in range(6)]
    unknown = [_message(_post_login(client, "nobody", f"wrong-{i}x")) for i in range(6)]
    assert known == unknown
    assert known[:4] == [auth.NEUTRAL_MESSAGE] * 4
    assert known[4:] == [auth.LOCKED_MESSAGE] * 2
    assert "15 分钟" in auth.LOCKED_MESSAGE


def test_login_posts_are_rate_limited_per_address(client, engine):
    _user(engine)
    codes = [_post_login(client, f"user{i}", "wrong-pass1").status_code for i in range(web_auth.LOGIN_LIMIT + 1)]
    assert codes[-1] == 429 and 429 not in codes[:-1]


def test_successful_logins_do_not_use_up_the_address_limit(client, engine):
    """Staff of one office share an address: only refused posts count towards the limit."""
    _user(engine)
    codes = []
    for _ in range(web_auth.LOGIN_LIMIT + 5):
        client.cookies.clear()  # another colleague's browser
        codes.append(_post_login(client, "alice", "secret123").status_code)
    assert set(codes) == {303}


def test_logout_revokes_and_the_replayed_cookie_is_dead(client, engine):
    _user(engine)
    token = _post_login(client, "alice", "secret123").cookies.get("mj_session")
    assert client.get("/login").status_code == 303  # logged in: the form sends you on
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    with session_scope(engine) as s:
        assert sessions.lookup(s, token) is None
        assert "logout" in set(s.scalars(select(AuditEvent.action)))
    client.cookies.set("mj_session", token)  # replay
    assert client.get("/login").status_code == 200


def test_idle_timeout_and_absolute_lifetime(keep_settings, engine):
    uid = _user(engine)
    start = clock.now()
    try:
        clock.freeze(start)
        with session_scope(engine) as s:
            token = sessions.create(s, uid)
            short = sessions.create(s, uid)
        admin = _admin(engine)
        with session_scope(engine) as s:
            sessions.update_limits(s, admin, 10, 2)
        # active every 9 minutes: alive until the absolute lifetime (2 h) ends
        for minutes in range(9, 120, 9):
            clock.freeze(start + dt.timedelta(minutes=minutes))
            with session_scope(engine) as s:
                assert sessions.lookup(s, token) is not None, minutes
        clock.freeze(start + dt.timedelta(hours=2, minutes=1))
        with session_scope(engine) as s:
            assert sessions.lookup(s, token) is None
            assert sessions.lookup(s, short) is None  # idle for two hours
            reasons = dict(s.execute(select(UserSession.token_hash, UserSession.revoked_reason)).all())
        assert set(reasons.values()) == {"expired", "idle"}
    finally:
        clock.freeze(None)


@pytest.mark.parametrize("change", ["reset_password", "change_role", "disable"])
def test_account_changes_end_every_session_of_the_account(engine, change):
    uid = _user(engine)
    admin = _admin(engine)
    with session_scope(engine) as s:
        tokens = [sessions.create(s, uid, "10.0.0.1"), sessions.create(s, uid, "10.0.0.2")]
    with session_scope(engine) as s:
        if change == "reset_password":
            auth.reset_password(s, admin, uid, "another123")
        elif change == "change_role":
            auth.change_role(s, admin, uid, LEADER)
        else:
            auth.set_active(s, admin, uid, False)
    with session_scope(engine) as s:
        assert [sessions.lookup(s, t) for t in tokens] == [None, None]


def test_admin_sees_active_sessions_and_forces_one_out(engine):
    uid = _user(engine)
    admin = _admin(engine)
    with session_scope(engine) as s:
        keep, kill = sessions.create(s, uid, "10.0.0.1", "Chrome"), sessions.create(s, uid, "10.0.0.2", "Firefox")
    with session_scope(engine) as s:
        live = sessions.active_sessions(s, admin, uid)
        assert sorted(r.client_addr for r in live) == ["10.0.0.1", "10.0.0.2"]
        victim = next(r.id for r in live if r.client_addr == "10.0.0.2")
        sessions.force_logout(s, admin, victim)
    with session_scope(engine) as s:
        assert sessions.lookup(s, kill) is None and sessions.lookup(s, keep) is not None
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "session.force_logout"))
        assert event.object_label == "测试用户（alice）" and event.actor_name == "管理员"
    with session_scope(engine) as s, pytest.raises(PermissionDenied):
        sessions.active_sessions(s, auth.actor_for(s.get(auth.User, uid)), uid)


def test_the_session_list_names_the_browser_in_words():
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
    wechat = ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36 "
              "MicroMessenger/8.0.50")
    assert sessions.browser_label(chrome) == "谷歌浏览器（电脑）"
    assert sessions.browser_label(wechat) == "微信内置浏览器（安卓手机）"
    assert sessions.browser_label("") == "其他浏览器"
