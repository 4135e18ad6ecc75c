"""A bad DATABASE_URL, an unreachable server or a failed migration stop with one clear message."""
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from db.config import ConfigError, app_mode, database_url
from tests.ui import APP, ROOT


@pytest.mark.parametrize("url,needle", [
    ("not a url", "格式不正确"),
    ("postgresql://postgres@127.0.0.1/x", "postgresql+psycopg"),
    ("mysql+pymysql://root@localhost/x", "不支持"),
])
def test_malformed_urls_are_explained(monkeypatch, url, needle):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError) as exc:
        database_url()
    assert needle in str(exc.value)


def test_default_is_sqlite_under_data_and_demo_mode(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("APP_MODE", raising=False)
    monkeypatch.setattr("db.config.SECRETS_PATH", ROOT / "no-such-secrets.toml")
    assert database_url().startswith("sqlite:///") and database_url().endswith("data/mujiu.db")
    assert app_mode() == "demo"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert app_mode() == "production"


def _manage(env_url):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": env_url, "APP_MODE": "production"}
    return subprocess.run([sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_unreachable_database_stops_the_run_command_with_one_message():
    r = _manage("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    assert r.returncode == 2
    assert "无法连接数据库" in r.stderr and "Traceback" not in r.stderr
    assert "DATABASE_URL" in r.stderr


def test_malformed_url_stops_the_run_command_with_one_message():
    r = _manage("definitely not a url")
    assert r.returncode == 2 and "格式不正确" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("url,needle", [("nonsense", "配置错误"),
                                        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "无法连接数据库")])
def test_the_portal_page_shows_the_problem_not_a_traceback(monkeypatch, url, needle):
    monkeypatch.setenv("DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any(needle in e.value for e in at.error)
    assert not at.text_input  # no login form on a broken start
