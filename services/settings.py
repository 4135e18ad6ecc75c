"""Admin-editable settings with defaults in code; values live in the `setting` table.

`SPECS` describes each setting an admin edits on 系统设置 once: label, unit, range, default and
help. services.admin_config checks values against it, pages/admin_settings.py draws its inputs
from it, and every message that states a value reads it through `phrase()`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
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


@dataclass(frozen=True)
class Spec:
    """One admin-editable setting made of whole numbers: everything the settings page shows about
    it, everything the service checks, and how a message states its value ("15 分钟")."""

    key: str
    label: str  # 到场时限
    unit: str  # 分钟
    lo: int
    hi: int
    default: Any
    help: str = ""  # shown beside the input
    rule: str = ""  # said after the range when a value is refused ("0 表示当日办结")
    parts: tuple[tuple[str, str], ...] = ()  # a setting of several numbers: (sub-key, label) each
    show: Callable[[Any], str] | None = None  # how a value reads in a sentence; default "15 分钟"

    @property
    def range_text(self) -> str:
        return f"{self.lo}–{self.hi}"

    def input_label(self, label: str | None = None) -> str:
        """到场时限（分钟，5–120）: what the page writes above the input."""
        return f"{label or self.label}（{self.unit}，{self.range_text}）"

    def refusal(self, label: str | None = None) -> str:
        """到场时限应为 5–120 的整数（分钟）。"""
        rule = f"，{self.rule}" if self.rule else ""
        return f"{label or self.label}应为 {self.range_text} 的整数（{self.unit}）{rule}。"

    def whole(self, value) -> int | None:
        """The value as an int when it is a whole number in range; else None (bools refused)."""
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, float):
            if not value.is_integer():
                return None
            value = int(value)
        if isinstance(value, str):
            value = value.strip()
            if not re.fullmatch(r"-?\d+", value):
                return None
            value = int(value)
        if not isinstance(value, int):
            return None
        return value if self.lo <= value <= self.hi else None

    def phrase(self, value) -> str:
        return self.show(value) if self.show else f"{value} {self.unit}"


def _hours(value: dict) -> str:
    return f"{int(value['open']):02d}:00–{int(value['close']):02d}:00"


SPECS: dict[str, Spec] = {s.key: s for s in (
    Spec("level_time_limits", "办理时限", "天", 0, 365,
         {"onsite": 0, "station_room": 3, "village_room": 3, "township": 7, "city": 15, "court": 30},
         help="案件进入该层级后须在此天数内办结；0 表示当日（北京时间）办结。", rule="0 表示当日办结"),
    Spec("arrival_minutes", "到场时限", "分钟", 5, 120, 15,
         help="调度通知后，被调度人员须在此时间内到场；快速响应率按此计算。"),
    Spec("follow_up_days", "回访期限", "天", 1, 60, 7, help="调解成功后须在此天数内回访。"),
    Spec("station_room_hours", "驻所调解室服务时间", "时", 0, 23, {"open": 8, "close": 22},
         help="服务时间以外由乡镇值班干部会同派出所处置（北京时间，整点）。",
         parts=(("open", "开始时间"), ("close", "结束时间")), show=_hours),
    # login sessions (services/sessions.py; edited on 用户管理 → 登录会话)
    Spec("session_idle_minutes", "空闲超时", "分钟", 5, 480, 30,
         help="超过此时间没有任何操作的登录自动失效，须重新登录。"),
    Spec("session_max_hours", "会话最长有效期", "小时", 1, 24, 12,
         help="自登录起满此时间，无论是否在操作，登录都会失效。"),
    # the 110 / 12345 intake API (services/api_keys.py; edited on 系统设置 → 对接平台)
    Spec("api_rate_limit", "接口调用频率上限", "次/分钟", 1, 1000, 60,
         help="每个对接平台密钥每分钟最多可调用接口的次数（提交与查询合计），超过后答复 429，下一分钟恢复。"),
)}

DEFAULTS: dict[str, object] = {"demo_loaded": False, **{k: spec.default for k, spec in SPECS.items()}}


def get(session: Session, key: str, default=None):
    """The stored value, else the default in code. Read from this process's copy of the settings
    (services/refdata.py), dropped whenever a session changes a setting."""
    from services import refdata
    value = refdata.setting(session, key)
    if value is not None:
        return value
    return DEFAULTS.get(key, default)


def phrase(session: Session, key: str) -> str:
    """A setting's current value as a message states it: "15 分钟", "7 天", "08:00–22:00"."""
    return SPECS[key].phrase(get(session, key))


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
    digits = phone.replace("-", "")
    hotline = re.fullmatch(r"12345|400\d{7}", digits)  # 12345 and 400 numbers: public, not personal
    if not (digits.isascii() and digits.isdigit()) or not (hotline or inputs.number_kind(digits) in
                                                            ("mobile", "landline")):
        raise ValidationError({"centre_phone": "请填写正确的中心对外电话，例如 0795-6201234 或 12345。"})
    put(session, CENTRE_PHONE, phone, actor)
    return phone
