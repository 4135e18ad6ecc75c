"""Where the database is: DATABASE_URL, then .streamlit/secrets.toml, then SQLite under data/."""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "data" / "mujiu.db"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"


class ConfigError(Exception):
    """A configuration problem the operator must fix; the message says what to do."""


def _from_secrets() -> str | None:
    if not SECRETS_PATH.exists():
        return None
    try:
        data = tomllib.loads(SECRETS_PATH.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{SECRETS_PATH} 不是有效的 TOML 文件：{exc}") from exc
    value = data.get("DATABASE_URL")
    return str(value) if value else None


def database_url() -> str:
    """Return the configured database URL, validated; raise ConfigError with a Chinese hint."""
    url = os.environ.get("DATABASE_URL") or _from_secrets()
    if not url:
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return validate_url(url)


@lru_cache(maxsize=16)  # read on every get_engine() call; parsing it cost ~20 µs
def validate_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            "DATABASE_URL 格式不正确。PostgreSQL 示例：postgresql+psycopg://用户@主机:5432/数据库；"
            "留空则使用内置 SQLite。"
        ) from exc
    if parsed.drivername.startswith("postgresql") and parsed.drivername != "postgresql+psycopg":
        raise ConfigError("PostgreSQL 请使用 postgresql+psycopg:// 驱动前缀（psycopg 3）。")
    if parsed.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ConfigError(f"不支持的数据库类型：{parsed.drivername}。仅支持 PostgreSQL 和 SQLite。")
    return url


def app_mode() -> str:
    """'demo' or 'production'. Explicit APP_MODE wins; the embedded SQLite default is a demo."""
    mode = os.environ.get("APP_MODE", "").strip().lower()
    if mode in ("demo", "production"):
        return mode
    if mode:
        raise ConfigError("APP_MODE 只能是 demo 或 production。")
    return "demo" if not (os.environ.get("DATABASE_URL") or _from_secrets()) else "production"
