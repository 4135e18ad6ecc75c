"""Accounts: login, lockout, neutral messages, admin actions and write permissions."""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import AuditEvent, User
from services import auth, clock
from services.errors import PermissionDenied, ValidationError
from services.roles import ADMIN, LEADER, STAFF, SYSTEM, TRAINER


def _make(engine, username="alice", role=STAFF, password="secret123", **kw):
    with session_scope(engine) as s:
        return auth.create_user(s, SYSTEM, username, "测试用户", role, password, **kw).id


def _login(engine, username, password):
    with session_scope(engine) as s:
        return auth.login(s, username, password)


def test_login_ok_and_wrong_password_is_neutral(engine):
    _make(engine)
    assert _login(engine, "alice", "secret123").ok
    assert _login(engine, "ALICE", "secret123").ok  # usernames are case-insensitive
    wrong = _login(engine, "alice", "nope12345")
    unknown = _login(engine, "bob", "nope12345")
    assert not wrong.ok and not unknown.ok
    assert wrong.message == unknown.message == "用户名或密码错误。"


@pytest.mark.parametrize("username,password", [("", ""), ("alice", ""), ("", "secret123"),
                                               ("' OR 1=1 --", "x' OR '1'='1"), ("admin'; DROP TABLE app_user; --", "a")])
def test_bad_login_input_is_refused_and_logged(engine, username, password):
    _make(engine)
    result = _login(engine, username, password)
    assert not result.ok and result.message
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1  # table intact
        actions = set(s.scalars(select(AuditEvent.action)))
    assert actions & {"login.failed", "login.refused"}


def test_five_failures_lock_for_fifteen_minutes(engine):
    _make(engine)
    start = clock.now()
    try:
        clock.freeze(start)
        for _ in range(4):
            assert _login(engine, "alice", "bad-pass1").message == auth.NEUTRAL_MESSAGE
        assert _login(engine, "alice", "bad-pass1").message == auth.LOCKED_MESSAGE
        # even the right password is refused while locked
        assert not _login(engine, "alice", "secret123").ok
        clock.freeze(start + dt.timedelta(minutes=14, seconds=59))
        assert not _login(engine, "alice", "secret123").ok
        clock.freeze(start + dt.timedelta(minutes=15, seconds=1))
        assert _login(engine, "alice", "secret123").ok
    finally:
        clock.freeze(None)


def test_success_resets_failure_count(engine):
    _make(engine)
    for _ in range(4):
        _login(engine, "alice", "bad-pass1")
    assert _login(engine, "alice", "secret123").ok
    for _ in range(4):
        assert _login(engine, "alice", "bad-pass1").message == auth.NEUTRAL_MESSAGE


def test_disabled_account_cannot_log_in(engine):
    uid = _make(engine)
    admin = _make(engine, "root", ADMIN)
    with session_scope(engine) as s:
        auth.set_active(s, auth.actor_for(s.get(User, admin)), uid, False)
    assert not _login(engine, "alice", "secret123").ok


def test_demo_accounts_do_not_work_in_production(engine, monkeypatch):
    _make(engine, "demo_user", is_demo=True)
    monkeypatch.setenv("APP_MODE", "production")
    assert not _login(engine, "demo_user", "secret123").ok
    monkeypatch.setenv("APP_MODE", "demo")
    assert _login(engine, "demo_user", "secret123").ok


def test_passwords_are_hashed_with_argon2(engine):
    uid = _make(engine)
    with session_scope(engine) as s:
        h = s.get(User, uid).password_hash
    assert h.startswith("$argon2") and "secret123" not in h


def test_production_hashes_use_full_argon2_parameters_and_accept_the_test_ones():
    """The suite hashes with cheap parameters (ARGON2_PARAMS); without the variable the portal
    uses argon2id at the library's defaults, and a hash verifies whatever parameters made it."""
    cheap = auth.hash_password("secret123")
    script = ("import sys; from services import auth; h = auth.hash_password('secret123'); "
              "print(h.split('$')[3]); print(auth._verify(sys.argv[1], 'secret123'), auth._verify(h, 'secret12'))")
    env = {k: v for k, v in os.environ.items() if k != "ARGON2_PARAMS"}
    out = subprocess.run([sys.executable, "-c", script, cheap], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent, check=True).stdout.split()
    assert out == ["m=65536,t=3,p=4", "True", "False"]
    assert cheap.split("$")[3] == "m=1024,t=1,p=1"  # tests/conftest.py's setting


def test_a_malformed_argon2_setting_stops_the_portal(monkeypatch):
    monkeypatch.setenv("ARGON2_PARAMS", "fast")
    with pytest.raises(RuntimeError, match="ARGON2_PARAMS"):
        auth._hasher_from_env()


def test_admin_manages_users(engine):
    admin_id = _make(engine, "root", ADMIN)
    with session_scope(engine) as s:
        admin = auth.actor_for(s.get(User, admin_id))
        uid = auth.create_user(s, admin, "carol", "王芳", STAFF, "first1234").id
        auth.change_role(s, admin, uid, LEADER)
        auth.reset_password(s, admin, uid, "second1234")
    assert _login(engine, "carol", "second1234").ok
    with session_scope(engine) as s:
        assert s.get(User, uid).role == LEADER


@pytest.mark.parametrize("username,password,field", [("ab", "good1234", "username"), ("carol", "short1", "password"),
                                                      ("carol", "allletters", "password"), ("root", "good1234", "username")])
def test_create_user_validation(engine, username, password, field):
    admin_id = _make(engine, "root", ADMIN)
    with session_scope(engine) as s:
        admin = auth.actor_for(s.get(User, admin_id))
        with pytest.raises(ValidationError) as exc:
            auth.create_user(s, admin, username, "名字", STAFF, password)
    assert field in exc.value.fields


@pytest.mark.parametrize("role", [LEADER, TRAINER, STAFF])
def test_non_admin_writes_are_refused_and_change_nothing(engine, role):
    uid = _make(engine, "target")
    actor_id = _make(engine, "actor", role)
    with pytest.raises(PermissionDenied) as exc:
        with session_scope(engine) as s:
            who = auth.actor_for(s.get(User, actor_id))
            auth.change_role(s, who, uid, ADMIN)
    if role in (LEADER, TRAINER):
        assert "只读" in exc.value.message
    with session_scope(engine) as s:
        assert s.get(User, uid).role == STAFF
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.change_role")) == 0
