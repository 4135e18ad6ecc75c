"""API keys of the 110 and 12345 platforms (/api/v1, web/api.py, docs/api.md) and their rate limit.

A key belongs to one platform. Its token is `mj_<source>_<43 URL-safe characters>` (32 random bytes
from `secrets`), shown once to the admin who creates it on 系统设置 → 对接平台; the table keeps only
its SHA-256 (a slow hash adds nothing for 256 random bits) and the first characters as a prefix for
lists. Creating and revoking are audited. A revoked key, or a demo key while the portal runs in
production mode, is refused like an unknown one.

Rate limit: a fixed window of one minute per key, counted in the key's own row by one
`UPDATE … RETURNING` in a short transaction of its own, so two replicas behind a proxy count against
the same number. The limit is the setting `api_rate_limit` (services.settings.SPECS, 系统设置).

Calls are made by a platform actor (role PLATFORM, no account): username `api:<source>`, name
"110 接警平台·<key name>", which the audit log and the case timeline show.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from db.config import app_mode
from db.models import ApiKey, User
from services import audit, clock, inputs, settings
from services.errors import DomainError, NotFound, ValidationError
from services.roles import PLATFORM, Actor, require

PLATFORMS: dict[str, str] = {"110": "110 接警平台", "12345": "12345 热线平台"}
TOKEN_RE = re.compile(r"^mj_(110|12345)_[A-Za-z0-9_-]{32,64}$")
USERNAME_PREFIX = "api:"
NAME_MIN, NAME_MAX = 2, 30
PREFIX_CHARS = 6  # random characters kept after mj_<source>_ for the list
RATE_KEY = "api_rate_limit"
WINDOW = dt.timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(source: str) -> str:
    return f"mj_{source}_{secrets.token_urlsafe(32)}"


def prefix_of(token: str) -> str:
    head = token.split("_", 2)
    return f"mj_{head[1]}_{head[2][:PREFIX_CHARS]}" if len(head) == 3 else token[:12]


@dataclass(frozen=True)
class KeyInfo:
    """What a request carries once its key is checked (ids and names only)."""

    id: int
    source: str
    name: str

    @property
    def actor(self) -> Actor:
        return platform_actor(self.source, self.name)


def platform_actor(source: str, key_name: str) -> Actor:
    return Actor(user_id=None, username=f"{USERNAME_PREFIX}{source}", role=PLATFORM,
                 display_name=f"{PLATFORMS[source]}·{key_name}"[:50])


def platform_name(username: str) -> str | None:
    """"110 接警平台" for the username of a platform actor (api:110); None for anyone else."""
    if not (username or "").startswith(USERNAME_PREFIX):
        return None
    return PLATFORMS.get(username[len(USERNAME_PREFIX):])


# ---------------------------------------------------------------- the admin's keys (系统设置)
def _add(session: Session, actor: Actor, source: str, name: str, token: str, is_demo: bool) -> ApiKey:
    errors = {}
    if source not in PLATFORMS:
        errors["source"] = "请选择对接平台。"
    clean = inputs.clean(name, multiline=False)
    if not NAME_MIN <= len(clean) <= NAME_MAX:
        errors["name"] = f"密钥名称应为 {NAME_MIN}–{NAME_MAX} 个字，例如“市公安局 110 指挥中心”。"
    if errors:
        raise ValidationError(errors)
    key = ApiKey(source=source, name=clean, prefix=prefix_of(token), token_hash=_hash(token), is_demo=is_demo,
                 created_by_id=actor.user_id, created_at=clock.now(), window_count=0)
    session.add(key)
    session.flush()
    audit.record(session, actor, "api.key_create", "api_key", key.id, label=f"{PLATFORMS[source]}·{clean}",
                 source=source, prefix=key.prefix)
    return key


def create_key(session: Session, actor: Actor, source: str, name: str) -> tuple[ApiKey, str]:
    """A new key for a platform. Returns the key and its token: the only time the token exists in
    the clear (the admin copies it to the platform; the page shows it once)."""
    require(actor, "api.keys")
    token = new_token(source) if source in PLATFORMS else ""  # an unknown platform is refused by _add
    return _add(session, actor, source, name, token, is_demo=False), token


def add_demo_key(session: Session, actor: Actor, source: str, name: str, token: str) -> ApiKey:
    """The demo's keys, with the well-known tokens docs/api.md uses (demo mode only; refused at use
    in production mode even if the row is still there)."""
    if app_mode() != "demo":
        raise DomainError("当前为生产模式（APP_MODE=production），不能创建演示密钥。")
    if not TOKEN_RE.match(token) or not token.startswith(f"mj_{source}_"):
        raise ValueError("a demo token must look like a real one")
    return _add(session, actor, source, name, token, is_demo=True)


def revoke_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    """The key stops working at once (every replica reads the same row)."""
    require(actor, "api.keys")
    key = session.get(ApiKey, key_id) if key_id else None
    if key is None:
        raise NotFound("接口密钥不存在。")
    if key.revoked_at is not None:
        raise DomainError("该密钥已作废。")
    key.revoked_at, key.revoked_by_id = clock.now(), actor.user_id
    session.flush()
    audit.record(session, actor, "api.key_revoke", "api_key", key.id, label=f"{PLATFORMS.get(key.source, key.source)}·{key.name}",
                 source=key.source, prefix=key.prefix)
    return key


def list_keys(session: Session, actor: Actor) -> list[dict]:
    """Every key, newest first, with who created/revoked it; never a token."""
    require(actor, "api.keys")
    keys = list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.isnot(None), ApiKey.id.desc())))
    ids = {k.created_by_id for k in keys} | {k.revoked_by_id for k in keys}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids - {None})))
                 .all()) if ids - {None} else {}
    return [{"id": k.id, "source": k.source, "platform": PLATFORMS.get(k.source, k.source), "name": k.name,
             "prefix": k.prefix + "…", "is_demo": k.is_demo, "created_at": k.created_at,
             "created_by": names.get(k.created_by_id, "系统" if k.created_by_id is None else ""),
             "last_used_at": k.last_used_at, "revoked_at": k.revoked_at,
             "revoked_by": names.get(k.revoked_by_id, "") if k.revoked_at else "",
             "active": k.revoked_at is None}
            for k in keys]


# ---------------------------------------------------------------- a request's key
def authenticate(session: Session, token: str | None) -> KeyInfo | None:
    """The live key the token names, else None (unknown, malformed, revoked, or a demo key in
    production mode: the caller answers all of them alike)."""
    token = (token or "").strip()
    if not TOKEN_RE.match(token):
        return None
    digest = _hash(token)
    key = session.scalar(select(ApiKey).where(ApiKey.token_hash == digest))
    if key is None or not hmac.compare_digest(key.token_hash, digest) or key.revoked_at is not None:
        return None
    if key.is_demo and app_mode() != "demo":
        return None
    if not token.startswith(f"mj_{key.source}_"):
        return None
    return KeyInfo(key.id, key.source, key.name)


def rate_limit(session: Session) -> int:
    return int(settings.get(session, RATE_KEY))


def count_request(session: Session, key_id: int, limit: int) -> float | None:
    """Count one request in the key's current minute; None while within `limit`, else the
    seconds until the next minute starts (Retry-After). One UPDATE … RETURNING: it takes the row
    lock on PostgreSQL, and SQLite's BEGIN IMMEDIATE serialises writers, so concurrent requests on
    any number of processes never count the same slot twice."""
    now = clock.now()
    window = now.replace(second=0, microsecond=0)
    count = session.execute(
        update(ApiKey).where(ApiKey.id == key_id)
        .values(window_count=case((ApiKey.window_start == window, ApiKey.window_count + 1), else_=1),
                window_start=window, last_used_at=now)
        .returning(ApiKey.window_count)
        .execution_options(synchronize_session=False)).scalar()
    if count is None or count <= limit:
        return None
    return max(1.0, math.ceil((window + WINDOW - now).total_seconds()))
