"""Two replicas behind nginx, on PostgreSQL (deploy/, scripts/stack.sh, docs/operations.md "两个副本与
nginx"): a user keeps working when the replica holding the tab dies; public pages answer through it;
nginx keeps the app's security headers, compresses the static bundles and logs no dispute-code or
check-in token; the replicas believe the forwarded client address from nginx only; case numbers
stay gap-free and the dashboard's rollup is rebuilt once when both replicas write at the same time.

One stack per test process (session-scoped): two uvicorn replicas on a copy of the demo database,
nginx in front, all on free loopback ports. Without nginx the tests fail under REQUIRE_BROWSER=1
(CI) and are skipped otherwise.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, func, select, text

from db.engine import get_engine, session_scope
from db.models import Case, CaseDayStat, DisputeCode, UserSession
from deploy.stack import PROXY_BIND, Stack, StackError, main, nginx_path, portal_conf, render
from services import clock, settings
from services.metrics import dashboard
from tests.browser_support import ROOT, SERVERS, sign_in
from tests.conftest import REQUIRE_BROWSER, _unavailable, demo_database
from tests.replica_writer import GO_LOCK, register
from web.middleware import replica_header

WAIT = 30000
SECURITY = ("x-frame-options", "content-security-policy", "x-content-type-options", "referrer-policy", "x-robots-tag",
            "cache-control")


# ------------------------------------------------------------------ the stack, once per test process
@pytest.fixture(scope="session")
def stack(_tmp_dir):
    if nginx_path() is None:
        _unavailable("nginx", "apt-get install nginx (scripts/test.sh installs it as root)", REQUIRE_BROWSER)
    url, cleanup = demo_database("postgresql", _tmp_dir)
    directory = ROOT / "test-artifacts" / f"stack-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    shutil.rmtree(directory, ignore_errors=True)  # the last run's logs; the stack's own check refuses live ones
    # a failed replica is tried again after 2 s (production: 10 s), so a restarted one is back at once
    try:
        running = Stack(directory, url, replicas=2, log_level="info", fail_timeout=2).start()
    except BaseException:
        cleanup()
        raise
    SERVERS[running.url] = url  # sign_in makes its sessions in this database
    yield running
    SERVERS.pop(running.url, None)
    running.stop()
    cleanup()


def request(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
            source: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP request from a chosen loopback source address (127.0.0.x: a distinct client)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()], r.read()
    finally:
        conn.close()


def header(headers, name: str) -> list[str]:
    return [v for k, v in headers if k == name]


def a_dispute_code(stack) -> tuple[str, str]:
    """(token, case number) of a live dispute code of the demo."""
    with session_scope(get_engine(stack.database_url)) as s:
        token, case_id = s.execute(select(DisputeCode.token, DisputeCode.case_id)
                                   .where(DisputeCode.revoked_at.is_(None)).order_by(DisputeCode.id.desc())).first()
        return token, s.get(Case, case_id).number


def log_in(base: str, source: str, forwarded_for: str | None = None) -> str:
    """Log the demo's staff in through the /login form (CSRF double submit) from `source`; the new
    session's cookie value."""
    status, headers, body = request(base + "/login", source=source)
    assert status == 200, status
    csrf = re.search(r'name="csrf" value="([^"]+)"', body.decode()).group(1)
    cookie = header(headers, "set-cookie")[0].split(";")[0]
    extra = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    status, headers, _ = request(base + "/login", "POST", {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, **extra},
        urllib.parse.urlencode({"username": "staff", "password": "demo1234", "csrf": csrf, "next": "/"}).encode(),
        source=source)
    assert status == 303, status
    return next(v for v in header(headers, "set-cookie") if v.startswith("mj_session=")).split(";")[0].split("=", 1)[1]


def session_address(stack, cookie: str) -> str:
    """The client address an admin sees for the session on 用户管理 → 在线会话."""
    with session_scope(get_engine(stack.database_url)) as s:
        return s.scalar(select(UserSession.client_addr)
                        .where(UserSession.token_hash == hashlib.sha256(cookie.encode()).hexdigest()))


def logs(stack) -> str:
    return stack.access_log.read_text(errors="replace") + stack.error_log.read_text(errors="replace")


def sticky_replica(stack, cookie: str) -> str:
    """The replica nginx sends a browser with this login cookie to (Streamlit's own HTTP routes:
    /_stcore/*, /media/ downloads, uploads), checked on three requests."""
    seen = {replica_of(request(stack.url + "/_stcore/health", headers={"Cookie": f"mj_session={cookie}"}))
            for _ in range(3)}
    assert len(seen) == 1, seen
    return seen.pop()


def replica_of(response) -> str:
    return ",".join(header(response[1], "x-replica")) or f"none (status {response[0]})"


# ------------------------------------------------------------------ the browser: a replica dies under a user
def websocket_replicas(page) -> list[str]:
    """The replica (X-Replica) behind each websocket the page opened, in order: Chromium reports the
    handshake's response headers through the DevTools protocol."""
    seen: list[str] = []
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketHandshakeResponseReceived",
           lambda e: seen.append({k.lower(): v for k, v in e["response"]["headers"].items()}.get("x-replica", "?")))
    return seen


def wait_until(condition, timeout: float = 30.0, what: str = "", page=None) -> None:
    """Poll `condition` every 0.1 s. With a page, wait through Playwright (page.wait_for_timeout), so
    that its events (the DevTools handshake reports) are delivered meanwhile; time.sleep would hold them."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


@pytest.mark.browser
def test_a_user_carries_on_through_the_other_replica_when_one_dies(page, stack):
    with session_scope(get_engine(stack.database_url)) as s:
        total = s.scalar(select(func.count()).select_from(Case))
        newest = s.scalar(select(Case.number).order_by(Case.id.desc()).limit(1))
    sockets = websocket_replicas(page)
    sign_in(page, stack.url, "staff", "/case_list")
    expect(page.get_by_role("heading", name="案件列表")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(f"共 {total:,} 件，第 1 /")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="下一页").click()
    expect(page.get_by_text(f"共 {total:,} 件，第 2 /")).to_be_visible(timeout=WAIT)
    wait_until(lambda: sockets, what="the websocket's handshake", page=page)
    first = sockets[-1]
    other = next(r.name for r in stack.replicas if r.name != first)
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "mj_session")
    assert sticky_replica(stack, cookie) == first  # the tab's downloads and uploads meet its session

    stack.stop_replica(first, kill=True)  # a crash: no goodbye to the browser or to nginx
    wait_until(lambda: sockets[-1] == other, what=f"Streamlit reconnecting through nginx to replica {other}", page=page)

    # still logged in, on the same page; the next click runs on the other replica
    expect(page).to_have_url(re.compile(r"/case_list$"))
    expect(page.get_by_label("用户名")).to_have_count(0)
    search = page.get_by_label("搜索")
    search.fill(newest)
    search.press("Enter")
    expect(page.get_by_text("共 1 件，第 1 / 1 页")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    page.screenshot(path="test-artifacts/failover-after.png", full_page=True)
    search.fill("")
    search.press("Enter")
    expect(page.get_by_text(f"共 {total:,} 件，第 1 /")).to_be_visible(timeout=WAIT)
    assert sockets[-1] == other and len(sockets) == 2, sockets  # one reconnection, no flapping

    # the public dispute-code page answers on every request meanwhile: nginx skips the dead replica
    token, number = a_dispute_code(stack)
    for _ in range(4):
        status, headers, body = request(f"{stack.url}/c/{token}")
        assert status == 200 and number in body.decode() and header(headers, "x-replica") == [other], (status, body[:800].decode(errors="replace"))

    # no replica at all: nginx's own Chinese page, with the security headers, still no token logged
    stack.stop_replica(other)
    status, headers, body = request(f"{stack.url}/c/{token}")
    assert status == 503 and "系统暂时无法访问" in body.decode()
    assert {name: len(header(headers, name)) for name in SECURITY} == dict.fromkeys(SECURITY, 1)
    assert token not in logs(stack)
    assert "/c/[token]" in stack.access_log.read_text()

    # both back: once its fail_timeout (here 2 s) has passed, nginx tries each again and uses both
    stack.start_replica(first)
    stack.start_replica(other)
    served = set()
    wait_until(lambda: served.update(header(request(stack.url + "/healthz")[1], "x-replica")) or len(served) == 2,
               timeout=15, what="both replicas serving again")


# ------------------------------------------------------------------ nginx over HTTP
def test_nginx_keeps_the_headers_compresses_static_files_and_logs_no_tokens(stack):
    token, number = a_dispute_code(stack)
    direct = stack.replicas[0].url
    for path in ("/login", f"/c/{token}", "/healthz", "/"):
        status, via_nginx, _ = request(stack.url + path)
        status_direct, from_app, _ = request(direct + path)
        assert status == status_direct, path
        for name in SECURITY:  # exactly the app's headers: neither doubled nor dropped
            assert header(via_nginx, name) == header(from_app, name), (path, name)
        assert header(via_nginx, "server") == ["nginx"], path  # no version number
    status, _, body = request(f"{stack.url}/c/{token}")
    assert status == 200 and number in body.decode()

    # Streamlit's JS/CSS: the app sends them as they are, nginx compresses them; the same bytes unpacked
    status, _, page = request(stack.url + "/", headers={"Cookie": "mj_session=" + log_in(stack.url, "127.0.0.7")})
    assert status == 200
    assets = re.findall(r'(?:src|href)="\.?(/static/[^"]+\.(?:js|css))"', page.decode())
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
    sizes = []
    for asset in assets:
        status, headers, packed = request(stack.url + asset, headers={"Accept-Encoding": "gzip"})
        _, plain_headers, plain = request(direct + asset, headers={"Accept-Encoding": "gzip"})
        assert status == 200 and header(plain_headers, "content-encoding") == [], asset
        if len(plain) >= 1024:  # gzip_min_length: smaller ones are not worth it
            assert header(headers, "content-encoding") == ["gzip"], asset
        assert (gzip.decompress(packed) if header(headers, "content-encoding") else packed) == plain, asset
        assert header(headers, "cache-control") == ["public, immutable, max-age=31536000"], asset
        sizes.append((len(plain), len(packed)))
    plain_size, packed_size = max(sizes)
    assert packed_size < plain_size / 2, sizes  # the main bundle, about 480 KB: about a third of it

    # uploads up to Streamlit's 10 MB reach the app (nginx's default limit is 1 MB: 413)
    status, _, _ = request(stack.url + "/_stcore/upload_file/x/y", "PUT", {"Content-Type": "application/octet-stream"},
                           b"0" * (3 * 1024 * 1024))
    assert status != 413

    # a citizen's check-in tap through nginx is not taken for a cross-site post: nginx passes the
    # Host with its port, which the app compares with the browser's Origin (a made-up link: 404, not 403)
    status, _, body = request(f"{stack.url}/k/{token}", "POST", {
        "Content-Type": "application/x-www-form-urlencoded", "Origin": stack.url}, b"step=arrive")
    assert status == 404, body.decode()[:300]

    # tokens never reach a log: /c/ and /k/, however the path is spelt
    requests = [f"/c/{token}", f"/c/{token}/request?n=1", f"/%63/{token}", f"//C/{token}", f"/k/{token}"]
    for path in requests:
        request(stack.url + path)
    # nginx writes a request's log line after sending the answer: the last one may come a moment later
    wait_until(lambda: '"GET /k/[token]"' in stack.access_log.read_text(), timeout=5, what="the /k/ line in the log")
    assert token not in logs(stack)
    access = stack.access_log.read_text()
    assert access.count('"GET /c/[token]"') >= 4 and '"GET /k/[token]"' in access


def test_each_browser_stays_on_one_replica_and_browsers_spread_over_both(stack):
    """Streamlit keeps a tab's session in one process: every request of a browser (its login cookie)
    goes to the same replica, while the public pages and browsers as a whole use both."""
    assert {sticky_replica(stack, secrets.token_urlsafe(32)) for _ in range(20)} == {"a", "b"}
    token, _ = a_dispute_code(stack)
    assert {replica_of(request(f"{stack.url}/c/{token}")) for _ in range(4)} == {"a", "b"}


def test_the_replicas_believe_the_client_address_from_nginx_only(stack):
    # through nginx: the real client, whatever X-Forwarded-For it sends itself
    assert session_address(stack, log_in(stack.url, "127.0.0.5", forwarded_for="10.9.9.9")) == "127.0.0.5"
    # straight to a replica: its own address, the header ignored (it is not nginx's address)
    assert session_address(stack, log_in(stack.replicas[1].url, "127.0.0.6", forwarded_for=PROXY_BIND)) == "127.0.0.6"

    # the login form's limit counts each real client: 20 refused posts from one, then 429 for it only
    def refused_post(source: str, forwarded_for: str = "") -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        return request(stack.url + "/login", "POST", headers, b"username=x&password=y&csrf=z", source=source)[0]

    assert [refused_post("127.0.0.3", f"10.0.0.{i}") for i in range(20)] == [403] * 20  # stale form: refused
    assert refused_post("127.0.0.3", "10.0.0.99") == 429
    assert refused_post("127.0.0.4") == 403


def test_the_configuration_for_three_replicas_elsewhere_is_valid_nginx(tmp_path):
    """`python -m deploy.stack render` for production: N replicas on other hosts; nginx -t accepts it."""
    nginx = nginx_path()
    if nginx is None:
        _unavailable("nginx", "apt-get install nginx", REQUIRE_BROWSER)
    out = tmp_path / "portal.conf"
    replicas = ["10.0.0.11:8501", "10.0.0.12:8501", "10.0.0.13:8501"]
    argv = ["render", "--listen", "8080", "--proxy-bind", "10.0.0.5", "--access-log", str(tmp_path / "access.log"),
            "--error-log", str(tmp_path / "error.log"), *(x for r in replicas for x in ("--replica", r)),
            "--public", "10.0.0.21:8501"]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(argv) == 0
    out.write_text(printed.getvalue())
    for r in replicas:  # the same servers in the sticky, the round-robin and the by-address upstream
        assert printed.getvalue().count(f"server {r} max_fails=1 fail_timeout=10s;") == 3
    # the public pages go to their own process first, the replicas standing by
    public = re.search(r"upstream portal_public \{(.*?)\}", printed.getvalue(), re.S).group(1)
    assert [line.strip() for line in public.strip().splitlines()[:4]] == [
        "server 10.0.0.21:8501 max_fails=1 fail_timeout=10s;", *(f"server {r} backup;" for r in replicas)]
    assert re.search(r"location ~\* \^/\+\[ck\]/ \{[^}]*proxy_pass http://portal_public;", printed.getvalue())
    # without public processes the public pages are round-robin over the replicas, as before
    plain = re.search(r"upstream portal_public \{(.*?)\}", portal_conf("80", replicas), re.S).group(1)
    assert [line.strip() for line in plain.strip().splitlines()[:3]] == [
        f"server {r} max_fails=1 fail_timeout=10s;" for r in replicas]
    conf = tmp_path / "nginx.conf"
    conf.write_text(render("stack.conf.template", {"DIR": str(tmp_path), "ERROR_LOG": str(tmp_path / "error.log")}))
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    checked = subprocess.run([nginx, "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    with pytest.raises(StackError):  # a value that would end the directive early
        portal_conf("80; include /etc/passwd", replicas)
    with pytest.raises(StackError):
        portal_conf("80", ["10.0.0.11:8501 backup"])


def test_a_replica_names_itself_only_with_a_plain_name():
    assert replica_header("a") == (b"x-replica", b"a")
    assert replica_header("a\r\nSet-Cookie: x=1") is None and replica_header("") is None
    assert replica_header(None) is None and replica_header("x" * 33) is None


# ------------------------------------------------------------------ both replicas write at once
def _writers(url: str, commands: list[list[str]]) -> list[dict]:
    """Run the writer processes (tests/replica_writer.py) so that they start at the same moment: each
    waits on an advisory lock this process holds until both are waiting."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as gate:
        gate.execute(text("SELECT pg_advisory_lock(:k)"), {"k": GO_LOCK})
        procs = [subprocess.Popen([sys.executable, "-m", "tests.replica_writer", *cmd], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ, PYTHONUNBUFFERED="1")) for cmd in commands]
        try:
            wait_until(lambda: gate.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND NOT granted"),
                {"k": GO_LOCK}).scalar() == len(procs) or any(p.poll() is not None for p in procs),
                timeout=60, what="both writers waiting")
        finally:
            gate.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": GO_LOCK})
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    admin.dispose()
    return results


def _sequence(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


@pytest.fixture
def demo_pg(_tmp_dir):
    url, cleanup = demo_database("postgresql", _tmp_dir)
    yield url
    cleanup()


def test_case_numbers_stay_gap_free_when_two_replicas_register_at_once(demo_pg):
    year = clock.local(clock.now()).year
    a, b = _writers(demo_pg, [["register", demo_pg, "25", "a"], ["register", demo_pg, "25", "b"]])
    mine_a, mine_b = sorted(map(_sequence, a["numbers"])), sorted(map(_sequence, b["numbers"]))
    assert mine_a[0] < mine_b[-1] and mine_b[0] < mine_a[-1], "the two writers did not overlap in time"
    with session_scope(get_engine(demo_pg)) as s:
        numbers = list(s.scalars(select(Case.number).where(Case.number.like(f"%-{year}-%"))))
    assert sorted(map(_sequence, numbers)) == list(range(1, len(numbers) + 1))  # 1..N: no gap, no duplicate
    assert set(a["numbers"]) | set(b["numbers"]) <= set(numbers) and len(set(a["numbers"]) | set(b["numbers"])) == 50


def test_the_rollup_is_rebuilt_once_when_two_replicas_ask_at_once(demo_pg):
    """Two leaders open the dashboard on two replicas after new registrations: one replica rebuilds the
    rollup, the other waits for it and reads the result; both show today's registrations."""
    register(demo_pg, 3, "r", wait=False)  # three new cases today: the rollup is behind
    engine = get_engine(demo_pg)
    with session_scope(engine) as s:
        state = settings.get(s, dashboard.ROLLUP_STATE_KEY)
        state["refreshed_at"] = (clock.now() - dt.timedelta(minutes=5)).isoformat()  # five minutes ago
        settings.put(s, dashboard.ROLLUP_STATE_KEY, state)
        last_id = s.scalar(select(func.max(CaseDayStat.id)))
        today = clock.local(clock.now()).date()
        received_today = s.scalar(select(func.count()).select_from(Case).where(
            Case.received_at >= dashboard.Period(today, today).utc_bounds()[0]))
    results = _writers(demo_pg, [["rollup", demo_pg], ["rollup", demo_pg]])
    assert sorted(r["refreshed"] for r in results) == [False, True], results
    assert [r["received_today"] for r in results] == [received_today] * 2
    with session_scope(engine) as s:  # the rows one rebuild wrote, and no second rebuild after it
        written = s.scalar(select(func.count()).where(CaseDayStat.id > last_id))
        assert written > 0 and s.scalar(select(func.max(CaseDayStat.id))) - last_id == written

