"""Accounts: password hashing (argon2), login with lockout, and the admin's user actions."""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.config import app_mode
from db.models import User
from services import audit, clock, inputs, sessions
from services.errors import NotFound, ValidationError
from services.roles import ROLES, Actor, require

MAX_FAILURES = 5
LOCK_MINUTES = 15
NEUTRAL_MESSAGE = "用户名或密码错误。"
LOCKED_MESSAGE = f"登录失败次数过多，账号已锁定，请 {LOCK_MINUTES} 分钟后再试。"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")


def _hasher_from_env() -> PasswordHasher:
    """argon2id at the library's (RFC 9106 low-memory) parameters. ARGON2_PARAMS="time,memory_kib,
    parallelism" overrides them; the test suite sets cheap ones, which a production setting must
    never do. A hash carries its own parameters, so hashes made either way verify either way."""
    raw = os.environ.get("ARGON2_PARAMS", "").strip()
    if not raw:
        return PasswordHasher()
    try:
        t, m, p = (int(x) for x in raw.split(","))
    except ValueError:
        raise RuntimeError(f"ARGON2_PARAMS must be time,memory_kib,parallelism, not {raw!r}") from None
    return PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)


_hasher = _hasher_from_env()
# Verified against when the user does not exist, so timing does not reveal existence.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class _UnknownNameLock:
    """Failures per unknown username (in memory, bounded): after MAX_FAILURES an unknown name gets
    the same lockout message a real account gets, so the message reveals nothing about existence."""

    def __init__(self, max_names: int = 10_000):
        self._fails: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_names = max_names

    def _recent(self, name: str, now: float) -> list[float]:
        return [t for t in self._fails.get(name, []) if t > now - LOCK_MINUTES * 60]

    def locked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name, clock.now().timestamp())) >= MAX_FAILURES

    def fail(self, name: str) -> bool:
        """Count a failure; True when this one reaches the lock."""
        now = clock.now().timestamp()
        with self._lock:
            hits = self._recent(name, now) + [now]
            self._fails[name] = hits
            self._fails.move_to_end(name)
            while len(self._fails) > self.max_names:
                self._fails.popitem(last=False)
            return len(hits) >= MAX_FAILURES

    def clear(self) -> None:
        with self._lock:
            self._fails.clear()


unknown_names = _UnknownNameLock()


def user_label(user: User) -> str:
    return f"{user.display_name}（{user.username}）"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class LoginResult:
    ok: bool
    message: str = ""
    user_id: int | None = None


def actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role,
                 display_name=user.display_name, mediator_id=user.mediator_id,
                 township_id=user.township_id, mediator_kind=user.mediator.kind if user.mediator else None)


def login(session: Session, username: str, password: str) -> LoginResult:
    """Check credentials. Never raises for bad input; the caller commits (counters persist)."""
    username = (username or "").strip()
    if not username or not password:
        audit.record(session, None, "login.refused", "app_user", None, reason="empty", username=username[:50])
        return LoginResult(False, "请输入用户名和密码。")
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    now = clock.now()
    if user is None:
        _verify(_DUMMY_HASH, password)
        name = username.lower()[:50]
        if unknown_names.locked(name):
            audit.record(session, None, "login.refused", "app_user", None, label=name, reason="locked")
            return LoginResult(False, LOCKED_MESSAGE)
        audit.record(session, None, "login.failed", "app_user", None, label=name, reason="unknown")
        return LoginResult(False, LOCKED_MESSAGE if unknown_names.fail(name) else NEUTRAL_MESSAGE)
    who = actor_for(user)
    label = user_label(user)
    if user.locked_until is not None and user.locked_until > now:
        _verify(user.password_hash, password)  # same work as any other answer
        audit.record(session, who, "login.refused", "app_user", user.id, label=label, reason="locked")
        return LoginResult(False, LOCKED_MESSAGE)
    if not _verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            audit.record(session, who, "login.locked", "app_user", user.id, label=label)
            return LoginResult(False, LOCKED_MESSAGE)
        audit.record(session, who, "login.failed", "app_user", user.id, label=label, reason="password")
        return LoginResult(False, NEUTRAL_MESSAGE)
    if not user.active:
        audit.record(session, who, "login.refused", "app_user", user.id, label=label, reason="disabled")
        return LoginResult(False, "该账号已停用，请联系管理员。")
    if user.is_demo and app_mode() != "demo":
        audit.record(session, who, "login.refused", "app_user", user.id, label=label, reason="demo-in-production")
        return LoginResult(False, NEUTRAL_MESSAGE)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, who, "login.ok", "app_user", user.id, label=label)
    return LoginResult(True, "", user.id)


def logout(session: Session, actor: Actor, token: str | None = None) -> None:
    """退出登录: the session is revoked server-side, so the cookie is dead even if replayed."""
    sessions.revoke(session, token, "logout")
    audit.record(session, actor, "logout", "app_user", actor.user_id,
                 label=f"{actor.display_name}（{actor.username}）")


def load_active_user(session: Session, user_id: int) -> User | None:
    """The user behind a browser session, re-read on every rerun; None if disabled meanwhile."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    if user.is_demo and app_mode() != "demo":
        return None
    return user


def _check_password(password: str) -> None:
    if len(password or "") < 8:
        raise ValidationError({"password": "密码至少 8 位。"})
    if password.isdigit() or password.isalpha():
        raise ValidationError({"password": "密码须同时包含字母和数字。"})


def create_user(session: Session, actor: Actor, username: str, display_name: str, role: str,
                password: str, mediator_id: int | None = None, township_id: int | None = None,
                is_demo: bool = False) -> User:
    require(actor, "user.manage")
    username = (username or "").strip()
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "用户名须为 3–50 位字母、数字、下划线、点或连字符。"
    elif session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = "该用户名已存在。"
    try:
        display_name = inputs.text(display_name, "姓名", "display_name", 50, required=True, multiline=False)
    except ValidationError as exc:
        errors.update(exc.fields)
    if role not in ROLES:
        errors["role"] = "请选择有效的角色。"
    try:
        _check_password(password)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    user = User(username=username, display_name=display_name, role=role,
                password_hash=hash_password(password), active=True, is_demo=is_demo,
                failed_logins=0, mediator_id=mediator_id, township_id=township_id,
                created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "app_user", user.id, label=user_label(user),
                 changes={"角色": [None, ROLES[role]]})
    return user


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。")
    return user


def reset_password(session: Session, actor: Actor, user_id: int, new_password: str) -> None:
    require(actor, "user.manage")
    _check_password(new_password)
    user = _get(session, user_id)
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    ended = sessions.revoke_all(session, user.id, "password")
    audit.record(session, actor, "user.reset_password", "app_user", user.id, label=user_label(user),
                 sessions_ended=ended)


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> None:
    require(actor, "user.manage")
    user = _get(session, user_id)
    if not active and user.id == actor.user_id:
        raise ValidationError("不能停用自己的账号。")
    changes = {"状态": ["启用" if user.active else "停用", "启用" if active else "停用"]}
    user.active = active
    ended = 0 if active else sessions.revoke_all(session, user.id, "disabled")
    audit.record(session, actor, "user.enable" if active else "user.disable", "app_user", user.id,
                 label=user_label(user), changes=changes, sessions_ended=ended)


def change_role(session: Session, actor: Actor, user_id: int, role: str) -> None:
    require(actor, "user.manage")
    if role not in ROLES:
        raise ValidationError({"role": "请选择有效的角色。"})
    user = _get(session, user_id)
    if user.id == actor.user_id and role != user.role:
        raise ValidationError("不能修改自己的角色。")
    old = user.role
    user.role = role
    ended = sessions.revoke_all(session, user.id, "role") if old != role else 0
    audit.record(session, actor, "user.change_role", "app_user", user.id, label=user_label(user),
                 changes={"角色": [ROLES.get(old, old), ROLES[role]]}, sessions_ended=ended)


def list_users(session: Session, actor: Actor) -> list[User]:
    require(actor, "user.manage")
    return list(session.scalars(select(User).order_by(User.id)))
