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
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

os.environ.setdefault("APP_MODE", "demo")
# cheap password hashing for the suite; test_auth checks the production parameters once
os.environ.setdefault("ARGON2_PARAMS", "1,1024,1")

from db.append_only import delete_all  # noqa: E402
from db.engine import dispose_all, get_engine, session_scope  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Base  # noqa: E402
from services.roster import org

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


# ---------------------------------------------------------------- the demo, loaded once per run
# Loading the demo takes 15-30 s per database. It is loaded once per backend for the whole run
# (all xdist workers: the workers share the run id and a lock) into a template, and each test
# that needs it gets a copy: PostgreSQL's CREATE DATABASE ... TEMPLATE, a file copy on SQLite.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
RUN_DIR = Path(tempfile.gettempdir()) / f"mujiu-run-{RUN_ID[:12]}"
PG_TEMPLATE = f"mujiu_test_demo_{RUN_ID[:12]}"


def pytest_configure(config):
    if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", "") is None:
        config.option.testrunuid = RUN_ID  # xdist hands it to its workers: one run directory for all


def _demo_template(backend: str) -> str:
    """The URL of the run's demo template of the backend, built by whichever process asks first.
    Call with the run's lock held."""
    from services import demo
    done = RUN_DIR / f"demo-{backend}.done"
    if backend == "postgresql":
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEMPLATE
    else:
        url = f"sqlite:///{RUN_DIR / 'demo-template.db'}"
    if not done.exists():
        if backend == "postgresql":
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
                c.execute(text(f'CREATE DATABASE "{PG_TEMPLATE}"'))
            admin.dispose()
        upgrade(url)
        with session_scope(get_engine(url)) as s:
            demo.load_demo(s)
        done.write_text(url)
    get_engine(url).dispose()  # a template must have no open connection while it is copied
    return url


def demo_database(backend: str, tmp_dir: Path):
    """Return (url, cleanup) for a fresh copy of the demo database of the backend."""
    from filelock import FileLock
    if backend == "postgresql" and (why := _pg_available()):
        _unavailable("PostgreSQL", why, REQUIRE_POSTGRES)
    RUN_DIR.mkdir(exist_ok=True)
    with FileLock(str(RUN_DIR / "demo.lock")):
        template = _demo_template(backend)
        if backend == "postgresql":
            pg = PgDatabase(template=PG_TEMPLATE)
            return pg.url, pg.drop
        path = tmp_dir / f"demo-{uuid.uuid4().hex[:8]}.db"
        src = sqlite3.connect(template.removeprefix("sqlite:///"))
        dst = sqlite3.connect(path)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{path}", lambda: None


def _drop_demo_templates() -> None:
    """At the end of the run (the controller, after every worker): the templates go."""
    if (RUN_DIR / "demo-postgresql.done").exists():
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(RUN_DIR, ignore_errors=True)


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

    def __init__(self, template: str | None = None):
        self.name = f"mujiu_test_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template}"' if template else "")))
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
def demo_url(request, _tmp_dir):
    """A copy of the whole demo database of each backend, dropped afterwards."""
    url, cleanup = demo_database(request.param, _tmp_dir)
    yield url
    cleanup()


@pytest.fixture(params=BACKENDS)
def fresh_url(request, _tmp_dir, monkeypatch):
    """An empty, unmigrated database of each backend, dropped afterwards."""
    url, cleanup = new_database(request.param, _tmp_dir)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    cleanup()


def pytest_collection_modifyitems(config, items):
    """Spread the browser tests evenly through the run. They are a twentieth of the tests and
    half of the CPU (Chromium and a portal each). xdist hands out the collection in order, so in
    file order most of them met on one worker near the end, and three at once on two cores starve
    each other; spread out, one or two run at any moment next to the short tests. A browser test
    is not put inside a file with module-scoped fixtures (it would set them up twice). The other
    tests keep their order."""
    browser = [item for item in items if "browser" in item.keywords]
    others = [item for item in items if "browser" not in item.keywords]
    if not browser or not others:
        return

    def module_scoped(item) -> bool:
        defs = item._fixtureinfo.name2fixturedefs.values()
        return any(d[-1].scope == "module" for d in defs if d)

    allowed = [i for i in range(len(others) + 1)
               if i in (0, len(others)) or others[i].module is not others[i - 1].module
               or not (module_scoped(others[i]) and module_scoped(others[i - 1]))]
    at: dict[int, list] = {}
    for k, item in enumerate(browser):
        want = (k + 0.5) * len(others) / len(browser)
        at.setdefault(min(allowed, key=lambda b: abs(b - want)), []).append(item)
    items[:] = [x for i in range(len(others) + 1) for x in at.get(i, []) + others[i:i + 1]]


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)
    if report.when == "call" and report.passed:
        if "postgresql" in report.nodeid:
            _passed["postgresql"] += 1
        if "browser" in report.keywords:
            _passed["browser"] += 1


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller sees every report and judges the whole run
    _drop_demo_templates()
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
    """The portal on a copy of the demo database of the backend, started the way the README starts it."""
    url, cleanup = demo_database(backend, tmp_dir)
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # one portal per worker: one log each
        log_name = log_name.replace(".log", f"-{worker}.log")
    server = LiveServer(url, artifacts / log_name)
    server.database_url = url
    return server, cleanup


def _serve(backend: str, tmp_dir: Path, log_name: str):
    server, cleanup = _live_portal(backend, tmp_dir, log_name)
    yield server
    server.stop()
    cleanup()


@pytest.fixture(scope="session")
def live_server(_tmp_dir, browser_type_launch_args):
    """The portal on a demo database (SQLite), started the way the README starts it."""
    yield from _serve("sqlite", _tmp_dir, "live-server.log")


@pytest.fixture(scope="session")
def live_server_pg(_tmp_dir, browser_type_launch_args):
    """The same on PostgreSQL, the production database."""
    yield from _serve("postgresql", _tmp_dir, "live-server-pg.log")


@pytest.fixture(params=["sqlite", "postgresql"])
def portal(request):
    """The live portal on each database: for the browser flows that must hold on both."""
    return request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")
