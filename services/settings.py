"""Admin-editable settings with defaults in code; values live in the `setting` table."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from db.models import Setting
from services import audit, clock
from services import inputs
from services.errors import ValidationError
from services.roles import Actor, require

PUBLIC_BASE_URL = "public_base_url"  # the address citizens' QR codes point at (系统设置)
CENTRE_PHONE = "centre_phone"  # the centre's public phone, shown on the public 404 page
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", ""}

DEFAULTS: dict[str, object] = {
    "demo_loaded": False,
    # days allowed at each ladder level; 0 = the same (local) day
    "level_time_limits": {"onsite": 0, "station_room": 3, "village_room": 3, "township": 7, "city": 15,
                          "court": 30},
    "arrival_minutes": 15,  # on site within 15 minutes of notification
    "follow_up_days": 7,  # follow-up due after settlement
    "station_room_hours": {"open": 8, "close": 22},  # station rooms serve 08:00-22:00; duty cadre after
}


def get(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    return DEFAULTS.get(key, default)


def put(session: Session, key: str, value, actor: Actor | None = None, action: str = "settings.manage") -> None:
    if actor is not None:
        require(actor, action)
    row = session.get(Setting, key)
    old = row.value if row else None
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=clock.now()))
    else:
        row.value = value
        row.updated_at = clock.now()
    session.flush()
    if actor is not None:
        audit.record(session, actor, "setting.change", "setting", None, key=key, old=old, new=value)


def is_local_url(url: str) -> bool:
    """True for an address only this machine can open (localhost, 127.x, 0.0.0.0, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def set_public_base_url(session: Session, actor: Actor, value: str) -> str:
    """Validate (http/https, a host, no path/query/credentials) and store; audited by put()."""
    url = inputs.text(value, "对外访问地址", "public_base_url", 200, required=True, multiline=False).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or parts.query or parts.fragment or " " in url:
        raise ValidationError({"public_base_url": "对外访问地址应为 https://域名 形式（可带端口和路径，不带参数），例如 "
                                                  "https://jfm.example.gov.cn。"})
    put(session, PUBLIC_BASE_URL, url, actor)
    return url


def set_centre_phone(session: Session, actor: Actor, value: str) -> str:
    phone = inputs.fold(value)
    if not re.fullmatch(r"(0\d{2,3}-?\d{7,8}|1[3-9]\d{9}|12345|400-?\d{3}-?\d{4})", phone):
        raise ValidationError({"centre_phone": "请填写正确的中心对外电话，例如 0795-6201234 或 12345。"})
    put(session, CENTRE_PHONE, phone, actor)
    return phone
