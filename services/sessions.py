"""Server-side login sessions: the browser holds a random opaque id in an HttpOnly cookie, the
database holds its SHA-256 with the user, times, client address and user agent.

A session is alive while it is not revoked, its user is active, it was seen within the idle
timeout (admin setting `session_idle_minutes`, default 30) and it is younger than the absolute
lifetime (`session_max_hours`, default 12). Every replica reads the same table, so a reload, a
new tab or another replica finds the same session; revoking it ends it everywhere at once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.config import app_mode
from db.models import User, UserSession
from services import audit, clock, refdata, settings
from services.errors import NotFound, ValidationError
from services.roles import Actor, require

COOKIE = "mj_session"
IDLE_KEY, MAX_KEY = "session_idle_minutes", "session_max_hours"
IDLE_DEFAULT, MAX_DEFAULT = settings.SPECS[IDLE_KEY].default, settings.SPECS[MAX_KEY].default
TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen is written at most this often (one write per rerun is too many)
REASONS = {"logout": "退出登录", "forced": "管理员强制下线", "password": "密码已修改", "role": "角色已修改",
           "disabled": "账号已停用"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def limits(session: Session) -> tuple[int, int]:
    """(idle minutes, absolute hours)"""
    return (int(refdata.setting(session, IDLE_KEY, IDLE_DEFAULT) or IDLE_DEFAULT),  # read on every page run
            int(refdata.setting(session, MAX_KEY, MAX_DEFAULT) or MAX_DEFAULT))


def create(session: Session, user_id: int, client_addr: str = "", user_agent: str = "") -> str:
    """Start a session for a user who just proved the password; returns the cookie value (256 bits)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(UserSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
                            client_addr=(client_addr or "")[:64], user_agent=(user_agent or "")[:300],
                            revoked_reason=""))
    session.flush()
    return token


@dataclass(frozen=True)
class Alive:
    session_id: int
    user: User


def lookup(session: Session, token: str | None) -> Alive | None:
    """The live session behind a cookie value, its last-seen time refreshed; None if dead or unknown."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    idle, max_hours = limits(session)
    if now - row.last_seen_at > dt.timedelta(minutes=idle):
        row.revoked_at, row.revoked_reason = now, "idle"
        return None
    if now - row.created_at > dt.timedelta(hours=max_hours):
        row.revoked_at, row.revoked_reason = now, "expired"
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or (user.is_demo and app_mode() != "demo"):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Alive(row.id, user)


def revoke(session: Session, token: str | None, reason: str = "logout") -> bool:
    if not token:
        return False
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token),
                                                   UserSession.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at, row.revoked_reason = clock.now(), reason
    session.flush()
    return True


def revoke_all(session: Session, user_id: int, reason: str) -> int:
    """End every live session of a user (password, role or account changed). Returns how many."""
    result = session.execute(update(UserSession)
                             .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                             .values(revoked_at=clock.now(), revoked_reason=reason)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def active_sessions(session: Session, actor: Actor, user_id: int | None = None) -> list[UserSession]:
    """Admin: the live sessions (of one user, or of all), newest first."""
    require(actor, "user.manage")
    now = clock.now()
    idle, max_hours = limits(session)
    q = (select(UserSession).where(UserSession.revoked_at.is_(None),
                                   UserSession.last_seen_at > now - dt.timedelta(minutes=idle),
                                   UserSession.created_at > now - dt.timedelta(hours=max_hours))
         .order_by(UserSession.last_seen_at.desc()))
    if user_id is not None:
        q = q.where(UserSession.user_id == user_id)
    return list(session.scalars(q))


def force_logout(session: Session, actor: Actor, session_id: int) -> None:
    """强制下线: the admin ends one session."""
    require(actor, "user.manage")
    row = session.get(UserSession, session_id)
    if row is None or row.revoked_at is not None:
        raise NotFound("该会话已结束。")
    user = session.get(User, row.user_id)
    row.revoked_at, row.revoked_reason = clock.now(), "forced"
    audit.record(session, actor, "session.force_logout", "app_user", row.user_id,
                 label=f"{user.display_name}（{user.username}）" if user else "",
                 client=row.client_addr, started=clock.fmt(row.created_at, True))


def update_limits(session: Session, actor: Actor, idle_minutes: int, max_hours: int) -> None:
    """Admin: idle timeout and absolute lifetime, in the ranges of their specs in services.settings."""
    require(actor, "settings.manage")
    errors = {}
    values = {}
    for key, value in ((IDLE_KEY, idle_minutes), (MAX_KEY, max_hours)):
        spec = settings.SPECS[key]
        values[key] = spec.whole(value)
        if values[key] is None:
            errors[key] = spec.refusal()
    if errors:
        raise ValidationError(errors)
    idle_minutes, max_hours = values[IDLE_KEY], values[MAX_KEY]
    old_idle, old_max = limits(session)
    settings.put(session, IDLE_KEY, idle_minutes)
    settings.put(session, MAX_KEY, max_hours)
    changes = {f"{settings.SPECS[key].label}（{settings.SPECS[key].unit}）": [old, new]
               for key, old, new in ((IDLE_KEY, old_idle, idle_minutes), (MAX_KEY, old_max, max_hours)) if old != new}
    audit.record(session, actor, "setting.change", "setting", None, label="会话时限", changes=changes)


_BROWSERS = (("MicroMessenger", "微信内置浏览器"), ("Edg", "微软 Edge 浏览器"), ("Firefox", "火狐浏览器"),
             ("Chrome", "谷歌浏览器"), ("Chromium", "谷歌浏览器"), ("Safari", "苹果浏览器"))
_SYSTEMS = (("Android", "安卓手机"), ("iPhone", "苹果手机"), ("iPad", "苹果平板"), ("Windows", "视窗电脑"),
            ("Mac OS", "苹果电脑"), ("Linux", "电脑"))


def browser_label(user_agent: str) -> str:
    """A user agent in words an administrator reads at a glance: "谷歌浏览器（视窗电脑）"."""
    ua = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in ua), "其他浏览器")
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    return f"{browser}（{system}）" if system else browser
