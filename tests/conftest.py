"""Test databases: every service test runs on SQLite and on PostgreSQL.

Each backend gets a database of its own, created here and built with `alembic upgrade heads`
(never create_all), with the organisation fixture loaded once. After each test the rows the
test wrote are deleted, organisation kept. Tests that change the organisation use `fresh_url`.

REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1 (set by .ci/run) turn "not available" into a failure,
and the session fails if no PostgreSQL or browser test actually passed. REQUIRE_NO_SKIPS=1 (also
set by .ci/run) fails the session on any skipped test, e.g. a PDF test without fonts or poppler.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

os.environ.setdefault("APP_MODE", "demo")

from db.append_only import delete_all  # noqa: E402
from db.engine import dispose_all, get_engine, session_scope  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Base  # noqa: E402
from services import org  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
REQUIRE_NO_SKIPS = os.environ.get("REQUIRE_NO_SKIPS") == "1"  # CI: a skipped test (no font, no poppler...) fails
BACKENDS = [b for b in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# Tables kept between tests (loaded once per backend); everything else is emptied.
ORG_TABLES = {"township", "village", "grid", "police_station", "mediation_room", "governance_centre",
              "dispute_category", "mediator", "setting"}

_passed = {"postgresql": 0, "browser": 0}
_skipped: list[str] = []


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc).splitlines()[0]


def _unavailable(what: str, why: str, required: bool):
    if required:
        pytest.fail(f"{what} required but not available: {why}", pytrace=False)
    pytest.skip(f"{what} not available: {why}")


class PgDatabase:
    """A throwaway PostgreSQL database."""

    def __init__(self):
        self.name = f"mujiu_test_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name

    def drop(self):
        dispose_all()
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def new_database(backend: str, tmp_dir: Path):
    """Return (url, cleanup) for an empty database of the backend."""
    if backend == "postgresql":
        why = _pg_available()
        if why:
            _unavailable("PostgreSQL", why, REQUIRE_POSTGRES)
        pg = PgDatabase()
        return pg.url, pg.drop
    path = tmp_dir / f"{uuid.uuid4().hex[:8]}.db"
    return f"sqlite:///{path}", lambda: None


@pytest.fixture(scope="session")
def _tmp_dir():
    with tempfile.TemporaryDirectory(prefix="mujiu-tests-") as d:
        yield Path(d)


def _migrated_with_org(backend: str, tmp_dir: Path):
    url, cleanup = new_database(backend, tmp_dir)
    upgrade(url)
    with session_scope(get_engine(url)) as s:
        org.load_org(s, org.read_org_file())
    return url, cleanup


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request, _tmp_dir):
    """A migrated database with the organisation loaded, one per backend for the session."""
    url, cleanup = _migrated_with_org(request.param, _tmp_dir)
    yield url
    cleanup()


@pytest.fixture(scope="session")
def _sqlite_backend(_tmp_dir):
    url, cleanup = _migrated_with_org("sqlite", _tmp_dir)
    yield url
    cleanup()


@pytest.fixture
def ui_url(_sqlite_backend, monkeypatch):
    """For AppTest page tests: one SQLite database (pages are the same on both backends;
    services and the end-to-end flows run on both)."""
    monkeypatch.setenv("DATABASE_URL", _sqlite_backend)
    yield _sqlite_backend
    wipe_transactional(_sqlite_backend)


def wipe_transactional(url: str) -> None:
    from services import auth
    from web import auth as web_auth
    auth.unknown_names.clear()  # in-memory lockout of unknown usernames
    web_auth.login_posts.clear()
    engine = get_engine(url)
    tables = [t for t in Base.metadata.sorted_tables if t.name not in ORG_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:  # the audit trail's append-only triggers are lifted inside this transaction only
            delete_all(conn, tables)


def snapshot_settings(url: str) -> list[dict]:
    from db.models import Setting
    with session_scope(get_engine(url)) as s:
        return [dict(r._mapping) for r in s.execute(Setting.__table__.select())]


def restore_settings(url: str, rows: list[dict]) -> None:
    """The setting table is kept between tests: put back what a test changed (admin settings)."""
    from db.models import Setting
    with session_scope(get_engine(url)) as s:
        s.execute(Setting.__table__.delete())
        if rows:
            s.execute(Setting.__table__.insert(), rows)


@pytest.fixture
def keep_settings(backend_url):
    """Request before db_url/engine: the backend's settings are restored after the test's wipe."""
    rows = snapshot_settings(backend_url)
    yield
    restore_settings(backend_url, rows)


@pytest.fixture
def keep_ui_settings(_sqlite_backend):
    rows = snapshot_settings(_sqlite_backend)
    yield
    restore_settings(_sqlite_backend, rows)


@pytest.fixture
def db_url(backend_url, monkeypatch):
    """The backend's URL, also as DATABASE_URL (for AppTest and manage.py); rows wiped after."""
    monkeypatch.setenv("DATABASE_URL", backend_url)
    yield backend_url
    wipe_transactional(backend_url)


@pytest.fixture
def engine(db_url):
    return get_engine(db_url)


@pytest.fixture
def session(engine):
    """A session in one transaction, committed at the end of the `with` in the test."""
    with session_scope(engine) as s:
        yield s


@pytest.fixture(params=BACKENDS)
def fresh_url(request, _tmp_dir, monkeypatch):
    """An empty, unmigrated database of each backend, dropped afterwards."""
    url, cleanup = new_database(request.param, _tmp_dir)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    cleanup()


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)
    if report.when == "call" and report.passed:
        if "postgresql" in report.nodeid:
            _passed["postgresql"] += 1
        if "browser" in report.keywords:
            _passed["browser"] += 1


def pytest_sessionfinish(session, exitstatus):
    missing = []
    if REQUIRE_POSTGRES and _passed["postgresql"] == 0:
        missing.append("no PostgreSQL test passed")
    if REQUIRE_BROWSER and _passed["browser"] == 0:
        missing.append("no browser test passed")
    if REQUIRE_NO_SKIPS and _skipped:
        missing.append(f"{len(_skipped)} test(s) skipped: " + ", ".join(_skipped[:10]))
    if missing and session.exitstatus == 0:
        print("\nREQUIRED TESTS MISSING: " + "; ".join(missing))
        session.exitstatus = 1


# ---------------------------------------------------------------- browser tests
from tests.browser_support import CHROMIUM_ARGS, LiveServer, chromium_path  # noqa: E402


@pytest.fixture(scope="session")
def browser_type_launch_args():
    path = chromium_path()
    if path is None:
        _unavailable("Chromium", "install Debian's chromium and fonts-noto-cjk", REQUIRE_BROWSER)
    return {"executable_path": path, "args": CHROMIUM_ARGS, "headless": True}


def _live_portal(backend: str, tmp_dir: Path, log_name: str):
    """The portal on a demo database of the backend, started the way the README starts it."""
    from services import demo
    url, cleanup = new_database(backend, tmp_dir)
    upgrade(url)
    with session_scope(get_engine(url)) as s:
        demo.load_demo(s)
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    server = LiveServer(url, artifacts / log_name)
    server.database_url = url
    return server, cleanup


@pytest.fixture(scope="session")
def live_server(_tmp_dir, browser_type_launch_args):
    """The portal on a demo database (SQLite), started the way the README starts it."""
    server, cleanup = _live_portal("sqlite", _tmp_dir, "live-server.log")
    yield server
    server.stop()
    cleanup()


@pytest.fixture(scope="session")
def live_server_pg(_tmp_dir, browser_type_launch_args):
    """The same on PostgreSQL, the production database."""
    server, cleanup = _live_portal("postgresql", _tmp_dir, "live-server-pg.log")
    yield server
    server.stop()
    cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def portal(request):
    """The live portal on each database: for the browser flows that must hold on both."""
    return request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")
