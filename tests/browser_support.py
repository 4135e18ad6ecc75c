"""A live portal (uvicorn serve:app) on a free port, for Playwright tests in Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str | None:
    """Debian's chromium-headless-shell when installed (the same engine without the desktop
    browser's shell: the browser tests took a fifth less time with it), else Debian's chromium.
    TEST_CHROMIUM names another executable."""
    if os.environ.get("TEST_CHROMIUM"):
        return shutil.which(os.environ["TEST_CHROMIUM"])
    return shutil.which("chromium-headless-shell") or shutil.which("chromium") or shutil.which("chromium-browser")


# base URL -> database URL of the live portals this process started (for sign_in)
SERVERS: dict[str, str] = {}
DEMO_PASSWORD = "demo1234"


def sign_in(page, base: str, username: str, path: str = "/") -> None:
    """Log a demo account in without the form: a real server-side session (services.sessions, as
    the /login POST makes it) in the portal's database, its cookie set as the server sets it, then
    the page. For tests that are not about logging in (tests/test_browser_login.py drives the form);
    saves the form's page load and round trip (about a second a test on a busy 2-core machine)."""
    from sqlalchemy import select

    from db.engine import get_engine, session_scope
    from db.models import User
    from services import sessions
    with session_scope(get_engine(SERVERS[base])) as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        token = sessions.create(s, user_id, "127.0.0.1", "Playwright sign_in")
    page.context.add_cookies([{"name": sessions.COOKIE, "value": token, "url": base, "httpOnly": True,
                               "sameSite": "Strict"}])
    page.goto(base + path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, database_url: str, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # unbuffered, so that the log file holds every line the server wrote by the time a test reads it
        env = dict(os.environ, DATABASE_URL=database_url, APP_MODE="demo", PUBLIC_BASE_URL=self.url,
                   PYTHONUNBUFFERED="1")
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(  # as scripts/start.sh serves it, but with uvicorn's default log level
            [sys.executable, "-m", "uvicorn", "serve:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--loop", "uvloop", "--http", "httptools", "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        SERVERS[self.url] = database_url
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"portal did not start; see {log_path}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
