"""Accounts: password hashing (argon2), login with lockout, and the admin's user actions."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.config import app_mode
from db.models import User
from services import audit, clock, inputs
from services.errors import NotFound, ValidationError
from services.roles import ROLES, Actor, require

MAX_FAILURES = 5
LOCK_MINUTES = 15
NEUTRAL_MESSAGE = "用户名或密码错误。"
LOCKED_MESSAGE = f"登录失败次数过多，账号已锁定，请 {LOCK_MINUTES} 分钟后再试。"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal existence.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
                 township_id=user.township_id)


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
        audit.record(session, None, "login.failed", "app_user", None, reason="unknown", username=username[:50])
        return LoginResult(False, NEUTRAL_MESSAGE)
    who = actor_for(user)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, who, "login.refused", "app_user", user.id, reason="locked")
        return LoginResult(False, LOCKED_MESSAGE)
    if not _verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            audit.record(session, who, "login.locked", "app_user", user.id)
            return LoginResult(False, LOCKED_MESSAGE)
        audit.record(session, who, "login.failed", "app_user", user.id, reason="password")
        return LoginResult(False, NEUTRAL_MESSAGE)
    if not user.active:
        audit.record(session, who, "login.refused", "app_user", user.id, reason="disabled")
        return LoginResult(False, "该账号已停用，请联系管理员。")
    if user.is_demo and app_mode() != "demo":
        audit.record(session, who, "login.refused", "app_user", user.id, reason="demo-in-production")
        return LoginResult(False, NEUTRAL_MESSAGE)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, who, "login.ok", "app_user", user.id)
    return LoginResult(True, "", user.id)


def logout(session: Session, actor: Actor) -> None:
    audit.record(session, actor, "logout", "app_user", actor.user_id)


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
    audit.record(session, actor, "user.create", "app_user", user.id, username=username, role=role)
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
    audit.record(session, actor, "user.reset_password", "app_user", user.id)


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> None:
    require(actor, "user.manage")
    user = _get(session, user_id)
    if not active and user.id == actor.user_id:
        raise ValidationError("不能停用自己的账号。")
    user.active = active
    audit.record(session, actor, "user.enable" if active else "user.disable", "app_user", user.id)


def change_role(session: Session, actor: Actor, user_id: int, role: str) -> None:
    require(actor, "user.manage")
    if role not in ROLES:
        raise ValidationError({"role": "请选择有效的角色。"})
    user = _get(session, user_id)
    if user.id == actor.user_id and role != user.role:
        raise ValidationError("不能修改自己的角色。")
    old = user.role
    user.role = role
    audit.record(session, actor, "user.change_role", "app_user", user.id, old=old, new=role)


def list_users(session: Session, actor: Actor) -> list[User]:
    require(actor, "user.manage")
    return list(session.scalars(select(User).order_by(User.id)))
