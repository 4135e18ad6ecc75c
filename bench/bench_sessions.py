"""Benchmark: many people using the portal at once, each a real Streamlit session driven over the
websocket protocol Streamlit's own frontend speaks, while the public dispute-code page is under a
fixed load. On PostgreSQL, as the demo's `staff`.

    .venv/bin/python bench/bench_sessions.py                       # 10, 25, 50 sessions, 60 s each
    .venv/bin/python bench/bench_sessions.py --sessions 50 --duration 120
    .venv/bin/python bench/bench_sessions.py --check               # the driver against Chromium, idle server
    .venv/bin/python bench/bench_sessions.py --replicas 2 --public-process
                                         # two portals (users spread, sticky) and one for the public page only
    .venv/bin/python bench/bench_sessions.py --url http://127.0.0.1:8080 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/<the replicas' database>

1. Creates the PostgreSQL database `mujiu_bench_sessions_<pid>_<random>` on the server of
   TEST_PG_ADMIN_URL and loads the demo as bench/bench_clicks.py does (production password hashing),
   and drops it at the end, also after a failure. `--database-url` uses a demo database you own.
2. Starts one portal (`uvicorn serve:app`, as the browser tests do; `--replicas N` starts N and
   spreads the users over them, each user staying on one, as a sticky proxy does; `--public-process`
   starts one more that only wrk talks to, as if a proxy sent /c/ to a process of its own), unless
   `--url` names running ones (nginx in front of replicas, or several URLs, comma-separated); then
   `--database-url` must be the database they use (the script reads the public page's tokens and
   search terms from it) and `--server-pid` may name their pids for the CPU and memory figures.
3. For each level of `--sessions`: every simulated user logs in through the /login form (GET the
   form, POST it, GET / with the cookie, as a browser does; timed apart, no target: argon2id at the
   production cost). Then, for `--duration` seconds, each user opens `/_stcore/stream` with the
   cookie, loads the portal (工作台) and repeats 案件列表 → 搜索 → 打开案件 → 领导驾驶舱 → 切换统计期
   with a think time (uniform in `--think`, seeded by `--seed`) before each. Meanwhile wrk loads
   GET /c/<token> (a real active token of the demo, chosen at random per request from up to 1,000) at
   `--public-rate` requests/s, spread over `--public-connections` keep-alive connections by a
   per-connection delay (Debian's wrk has no -R).
4. Prints, per level and interaction, the count, p50, p95 and max, the errors by kind, the public
   page's achieved rate with its p50/p99, the load average (before, mean and max during, after) and
   the CPU the portal, the driver and wrk used; each figure against its target.

The protocol (streamlit/web/server/starlette/starlette_websocket.py, runtime/app_session.py): a
BackMsg `rerun_script` carries a ClientState: query string, page_script_hash (empty on the first
load, then the page's hash from the `navigation` ForwardMsg, as the sidebar sends it), the widget
states (a text input's string_value, a selectbox's formatted option as string_value, a button's
trigger_value) and the hashes of the big messages the client keeps (the server then sends a
`ref_hash` instead; kept and aged as the frontend does). The server answers with ForwardMsgs:
`new_session` at the start of every run, deltas (the elements), `navigation` (the pages and the
current page) and `script_finished`. A run ended by st.rerun or st.switch_page finishes with
FINISHED_EARLY_FOR_RERUN and the next run follows; an interaction is over at the first
`script_finished` that is not that one. An interaction is timed from sending the BackMsg to receiving
that message: what the user waits for, less the browser's drawing (`--check` shows how much less).

Errors: an exception element, the page's Chinese incident number (事件编号), the router's and the
guard's failure messages (no database, configuration, role refused), the login page instead of the portal, page_not_found, a page without what the interaction is for (its
heading, the search result count, the opened case's number, a chart, the chosen period), a websocket
closed by the server, no script_finished within `--timeout` s. After a disconnect or a timeout the
user reconnects (a new session, as a browser reload) and starts the round again.

`--check`: one Chromium session (Playwright, Debian's Chromium; timings taken in the page as
bench/bench_clicks.py takes them: from the click or Enter key event to the first frame at which the
run is over, nothing stale is left and the expected element is drawn; and to the moment the page's
run state turned notRunning) and one protocol session do the same interactions on an idle portal,
round after round (who goes first alternates, so neither always meets a cold dashboard cache); both
are printed side by side, with the portal's CPU time during each (when its pid is known: the portal
this script started, or `--server-pid`), which shows whether the server did the same work for both.

Nothing here is a test: timings depend on the machine. Figures go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from components.charts import PRESETS  # noqa: E402 - the period selector's own labels
from services import clock  # noqa: E402
from services.metrics.dashboard import Period  # noqa: E402

TARGET_P95_MS = 1000  # every interaction, at every level up to 50 sessions
PUBLIC_P99_MS = 25  # GET /c/<token>, at the fixed rate, throughout
ACCOUNT, PASSWORD = "staff", "demo1234"
HOME, CASE_LIST, SEARCH, OPEN_CASE, DASHBOARD, PERIOD = "连接 → 工作台", "案件列表", "搜索", "打开案件", "领导驾驶舱", "切换统计期"
INTERACTIONS = [HOME, CASE_LIST, SEARCH, OPEN_CASE, DASHBOARD, PERIOD]
ROUND = [CASE_LIST, SEARCH, OPEN_CASE, DASHBOARD, PERIOD]
CASE_NUMBER = re.compile(r"丰-\d{4}-\d{6,}")
# the portal's own failure messages (app.py, components/context.guard); other st.error boxes are the
# page's notices (e.g. the 解纷码 panel's warning that the link points at a loopback address)
FAILURES = ("无法连接数据库", "数据库结构升级失败", "配置错误", "无权访问")
FINAL = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
         ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


def period_text(key: str) -> str:
    """The dashboard's caption for a preset, computed as components/charts.period_picker does."""
    today = clock.today()
    period = {"article": Period.article, "month": lambda: Period.month(today),
              "last_month": lambda: Period.month(today.replace(day=1) - dt.timedelta(days=1)),
              "quarter": lambda: Period.quarter(today), "year": lambda: Period.year(today)}[key]()
    return f"统计期 {period.text}"


PERIOD_KEYS = [k for k in PRESETS if k != "custom"]


# ------------------------------------------------------------------ one script run as the client saw it
@dataclass
class Run:
    headings: list[tuple[str, str]] = field(default_factory=list)  # (tag, body)
    texts: list[str] = field(default_factory=list)  # markdown and captions
    alerts: list[tuple[int, str]] = field(default_factory=list)  # (format, body)
    exceptions: list[str] = field(default_factory=list)
    widgets: list[tuple[str, str, object]] = field(default_factory=list)  # (kind, label, element proto)
    link_buttons: list[str] = field(default_factory=list)
    charts: int = 0
    page_not_found: bool = False

    def widget(self, kind: str, label: str):
        return next((el for k, lab, el in self.widgets if k == kind and lab == label), None)

    def problem(self) -> str | None:
        """An error the page itself shows, whatever the interaction was for."""
        if self.exceptions:
            return "exception"
        if any("事件编号" in body for _, body in self.alerts):
            return "incident number"
        if "前往登录" in self.link_buttons:
            return "login form"
        if self.page_not_found:
            return "page not found"
        if any(fmt == Alert.ERROR and any(f in body for f in FAILURES) for fmt, body in self.alerts):
            return "error message"
        return None


class Disconnected(Exception):
    pass


def selected(el) -> str | None:
    """A selectbox's shown option (its formatted label)."""
    if el.set_value:
        return el.raw_value
    if el.HasField("default") and 0 <= el.default < len(el.options):
        return el.options[el.default]
    return None


class Session:
    """One browser tab's Streamlit session over /_stcore/stream."""

    def __init__(self, base: str, cookie: str, timeout: float):
        parts = urllib.parse.urlsplit(base)
        self.base, self.cookie, self.timeout = base, cookie, timeout
        self.ws_url = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}/_stcore/stream"
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.cache: dict[str, ForwardMsg] = {}  # hash -> message, as the frontend's ForwardMsgCache
        self.age: dict[str, int] = {}  # hash -> finished runs since last seen
        self.max_age = 2
        self.pages: dict[str, str] = {}  # url path -> page_script_hash
        self.page = ""  # the current page's hash
        self.path = ""
        self.values: dict[str, WidgetState] = {}  # widget states set on the current page
        self.run = Run()
        self.done: asyncio.Future | None = None
        self.closed: str | None = None

    async def open(self) -> None:
        self.ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, ping_interval=None,
                                open_timeout=self.timeout, user_agent_header="bench_sessions",
                                additional_headers={"Cookie": self.cookie, "Origin": self.base})
        self.reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            try:
                await asyncio.wait_for(self.reader, 5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing anyway
                self.reader.cancel()

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self._on(data)
            self.closed = "closed"
        except ConnectionClosed as exc:
            self.closed = f"closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        if self.done is not None and not self.done.done():
            self.done.set_exception(Disconnected(self.closed))

    def _on(self, data: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                self.run.exceptions.append("ref_hash of a message the client never got")
                return
            self.age[msg.ref_hash] = 0
            ref, msg = msg, ForwardMsg()
            msg.CopyFrom(cached)
            msg.metadata.CopyFrom(ref.metadata)
            kind = msg.WhichOneof("type")
        elif msg.hash and msg.metadata.cacheable:
            self.cache[msg.hash] = msg
            self.age[msg.hash] = 0
        if kind == "new_session":
            self.run = Run()  # every run draws the page anew
            self.max_age = msg.new_session.config.max_cached_message_age or self.max_age
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page = msg.navigation.page_script_hash
        elif kind == "page_not_found":
            self.run.page_not_found = True
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.run.exceptions.append("compile error")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "script_finished" and msg.script_finished in FINAL:
            for h in list(self.age):  # the frontend's cache forgets what the last runs did not use
                self.age[h] += 1
                if self.age[h] > self.max_age:
                    del self.age[h], self.cache[h]
            if self.done is not None and not self.done.done():
                self.done.set_result(self.run)

    def _element(self, el) -> None:
        kind = el.WhichOneof("type")
        r = self.run
        if kind == "heading":
            r.headings.append((el.heading.tag, el.heading.body))
        elif kind == "markdown":
            r.texts.append(el.markdown.body)
        elif kind == "alert":
            r.alerts.append((el.alert.format, el.alert.body))
        elif kind == "exception":
            r.exceptions.append(el.exception.type)
        elif kind == "vega_lite_chart":
            r.charts += 1
        elif kind == "link_button":
            r.link_buttons.append(el.link_button.label)
        elif kind in ("text_input", "selectbox", "button", "multiselect", "checkbox", "date_input", "download_button"):
            widget = getattr(el, kind)
            r.widgets.append((kind, widget.label, widget))

    async def rerun(self, page_hash: str | None = None, states=(), page_name: str = "") -> tuple[float, Run]:
        """Send one rerun_script, as the frontend does, and wait for the run to be over."""
        if self.closed:
            raise Disconnected(self.closed)
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = ""
        rs.page_script_hash = self.page if page_hash is None else page_hash
        rs.page_name = page_name
        rs.widget_states.widgets.extend(states)
        rs.cached_message_hashes.extend(self.cache)
        ci = rs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "Asia/Shanghai", -480, "zh-CN"
        ci.url, ci.is_embedded, ci.color_scheme = f"{self.base}/{self.path}", False, "light"
        self.done = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        try:
            run = await asyncio.wait_for(self.done, self.timeout)
        finally:
            self.done = None
        return (time.perf_counter() - t0) * 1000, run

    # ---------------------------------------------------------- the interactions: (ms, problem or None)
    async def home(self) -> tuple[float, str | None]:
        await self.open()
        ms, run = await self.rerun(page_hash="", page_name="")
        return ms, run.problem() or (None if ("h1", "工作台") in run.headings else "unexpected page")

    async def goto(self, path: str, title: str) -> tuple[float, str | None]:
        self.values.clear()  # the widgets of the page left behind are gone
        self.path = path
        ms, run = await self.rerun(page_hash=self.pages[path])
        if run.problem():
            return ms, run.problem()
        ok = ("h1", title) in run.headings and (path != "dashboard" or run.charts > 0)
        return ms, None if ok else "unexpected page"

    async def search(self, term: str) -> tuple[float, str | None]:
        box = self.run.widget("text_input", "搜索")
        if box is None:
            return 0.0, "unexpected page"
        self.values[box.id] = WidgetState(id=box.id, string_value=term)
        ms, run = await self.rerun(states=self.values.values())
        if run.problem():
            return ms, run.problem()
        counted = any(t.startswith("共 ") and "件" in t for t in run.texts)
        return ms, None if counted and run.widget("button", "打开") is not None else "unexpected page"

    async def open_case(self) -> tuple[float, str | None]:
        pick, button = self.run.widget("selectbox", "打开案件"), self.run.widget("button", "打开")
        number = CASE_NUMBER.search(selected(pick) or "") if pick is not None else None
        if button is None or number is None:
            return 0.0, "unexpected page"
        ms, run = await self.rerun(states=[*self.values.values(), WidgetState(id=button.id, trigger_value=True)])
        self.values.clear()  # st.switch_page: now on 案件详情
        self.path = "case_detail"
        if run.problem():
            return ms, run.problem()
        return ms, None if ("h2", number.group(0)) in run.headings else "unexpected page"

    async def change_period(self, pick: Callable[[list[str]], str]) -> tuple[float, str | None]:
        """Choose another preset in the period selector (`pick` chooses among the others)."""
        box = self.run.widget("selectbox", "统计期")
        if box is None:
            return 0.0, "unexpected page"
        shown = selected(box)
        key = pick([k for k in PERIOD_KEYS if PRESETS[k] != shown])
        self.values[box.id] = WidgetState(id=box.id, string_value=PRESETS[key])
        ms, run = await self.rerun(states=self.values.values())
        if run.problem():
            return ms, run.problem()
        ok = any(t.startswith(period_text(key)) for t in run.texts) and run.charts > 0
        return ms, None if ok else "unexpected page"

    async def step(self, name: str, term: str, pick: Callable[[list[str]], str]) -> tuple[float, str | None]:
        """One interaction of the round; `term` is searched for, `pick` chooses the next period."""
        if name == CASE_LIST:
            return await self.goto("case_list", "案件列表")
        if name == SEARCH:
            return await self.search(term)
        if name == OPEN_CASE:
            return await self.open_case()
        if name == DASHBOARD:
            return await self.goto("dashboard", "领导驾驶舱")
        return await self.change_period(pick)


# ------------------------------------------------------------------ logging in over HTTP, as the browser does
def _connection(base: str, timeout: float) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(base)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname, parts.port, timeout=timeout)


def _set_cookie(response, name: str) -> str | None:
    for key, value in response.getheaders():
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0]
    return None


def login(base: str, timeout: float = 60) -> tuple[str, float]:
    """GET /login, POST the form (timed), GET / with the session cookie: the cookie and the POST's ms."""
    conn = _connection(base, timeout)
    try:
        conn.request("GET", "/login")
        r = conn.getresponse()
        page = r.read().decode()
        csrf_cookie = _set_cookie(r, "mj_csrf")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        if r.status != 200 or csrf_cookie is None or csrf is None:
            raise RuntimeError(f"GET /login answered {r.status}")
        form = urllib.parse.urlencode({"username": ACCOUNT, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"})
        t0 = time.perf_counter()
        conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded",
                                              "Cookie": csrf_cookie, "User-Agent": "bench_sessions"})
        r = conn.getresponse()
        r.read()
        ms = (time.perf_counter() - t0) * 1000
        cookie = _set_cookie(r, "mj_session")
        if r.status != 303 or cookie is None:
            raise RuntimeError(f"POST /login answered {r.status}")
        conn.request("GET", "/", headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"GET / with the new session answered {r.status} (login form?)")
        return cookie, ms
    finally:
        conn.close()


# ------------------------------------------------------------------ one level: n users for a while
@dataclass
class LevelResult:
    sessions: int
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    logins: list[float] = field(default_factory=list)
    login_errors: Counter = field(default_factory=Counter)
    wall: float = 0.0
    load: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)
    memory: list[tuple[float, float]] = field(default_factory=list)
    public: dict | None = None


async def user(i: int, base: str, cookie: str, terms: list[str], args, deadline: float, res: LevelResult) -> None:
    rng = random.Random(f"{args.seed}-{res.sessions}-{i}")
    lo, hi = args.think
    await asyncio.sleep(rng.uniform(0, hi))  # the users arrive spread over one think time
    s: Session | None = None
    todo: list[str] = []
    try:
        while time.perf_counter() < deadline:
            name = HOME if s is None else (todo.pop(0) if todo else None)
            if name is None:
                todo = list(ROUND)
                continue
            if name != HOME:
                await asyncio.sleep(rng.uniform(lo, hi))
                if time.perf_counter() >= deadline:
                    break
            try:
                if name == HOME:
                    s = Session(base, cookie, args.timeout)
                    ms, problem = await s.home()
                else:
                    ms, problem = await s.step(name, rng.choice(terms), rng.choice)
            except (asyncio.TimeoutError, Disconnected, ConnectionClosed, OSError) as exc:
                kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else "disconnect"
                res.errors[name][kind] += 1
                await s.close()
                s, todo = None, []  # reconnect: a new session, as a reload does
                continue
            if ms:
                res.times[name].append(ms)
            if problem:
                res.errors[name][problem] += 1
                todo = []  # start the round again from the case list
    finally:
        if s is not None:
            await s.close()


async def sample_load(stop: asyncio.Event, samples: list[float], every: float = 2.0) -> None:
    while not stop.is_set():
        samples.append(os.getloadavg()[0])
        try:
            await asyncio.wait_for(stop.wait(), every)
        except asyncio.TimeoutError:
            pass


def memory_mb(pid: int | None) -> tuple[float, float] | None:
    """(resident now, peak resident) of a process in MB, from /proc."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) for k in ("VmRSS", "VmHWM")}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


def cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process (all its threads), from /proc."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total(values: list) -> float | None:
    return None if not values or None in values else sum(values)


async def level(n: int, bases: list[str], terms: list[str], tokens: Path | None, args, pids: list[int]) -> LevelResult:
    """n users; user i uses bases[i % len(bases)] for its login and its session (sticky, as a proxy
    in front of replicas keeps a browser on one)."""
    res = LevelResult(n)
    # the logins first (argon2id at the production cost), a few at a time as people arrive at 8:30
    sem = asyncio.Semaphore(args.login_concurrency)

    async def one_login(i: int):
        async with sem:
            try:
                cookie, ms = await asyncio.to_thread(login, bases[i % len(bases)])
            except (RuntimeError, OSError) as exc:
                res.login_errors[str(exc)[:60]] += 1
                return None
            res.logins.append(ms)
            return i, cookie
    cookies = [c for c in await asyncio.gather(*(one_login(i) for i in range(n))) if c]
    res.load["before"] = os.getloadavg()
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_load(stop, samples))
    public0 = cpu_seconds(args.public_pid)
    cpu0 = (total([cpu_seconds(p) for p in pids]), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter())
    wrk = None
    if tokens is not None and args.public_rate > 0:
        wrk = asyncio.create_task(asyncio.to_thread(run_wrk, args.public_url or bases[0], tokens, args.public_rate,
                                                    args.public_connections, args.duration))
    start = time.perf_counter()
    deadline = start + args.duration
    await asyncio.gather(*(user(i, bases[i % len(bases)], c, terms, args, deadline, res) for i, c in cookies))
    res.wall = time.perf_counter() - start
    if wrk is not None:
        res.public = await wrk
    stop.set()
    await sampler
    server1, self1, t1 = total([cpu_seconds(p) for p in pids]), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    wall = t1 - cpu0[2]
    res.load.update(after=os.getloadavg(), mean=statistics.fmean(samples) if samples else float("nan"),
                    max=max(samples) if samples else float("nan"))
    res.memory = [m for m in (memory_mb(p) for p in pids) if m]
    public1 = cpu_seconds(args.public_pid)
    res.cpu = {"portal": (server1 - cpu0[0]) / wall if server1 is not None and cpu0[0] is not None else None,
               "public process": (public1 - public0) / wall if public1 is not None and public0 is not None else None,
               "driver": (self1.ru_utime + self1.ru_stime - cpu0[1].ru_utime - cpu0[1].ru_stime) / wall,
               "wrk": res.public["cpu"] / res.public["seconds"] if res.public else None}
    return res


# ------------------------------------------------------------------ the public page under wrk
WRK_LUA = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local gap = %(gap)f  -- ms between two requests of one connection, on average
local n = 0
setup = function(thread) n = n + 1; thread:set("seed", n) end
init = function(args) math.randomseed(os.time() * 1000 + (seed or 0)) end
request = function() return wrk.format("GET", "/c/" .. tokens[math.random(#tokens)]) end
delay = function() return math.random() * 2 * gap end
"""


def _ms(value: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", value)
    n, unit = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60_000}[unit]


def run_wrk(base: str, tokens: Path, rate: int, connections: int, seconds: int) -> dict:
    """GET /c/<random token> at about `rate` requests/s: each connection waits a random delay
    (mean connections/rate) before each request. Returns the achieved rate and latency."""
    gap = connections * 1000.0 / rate
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA % {"tokens": str(tokens), "gap": gap})
        lua = f.name
    try:
        proc = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
                                 "-s", lua, base], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        os.unlink(lua)
    if proc.returncode != 0 or "Requests/sec" not in out:
        return {"error": out[-500:], "rps": 0.0, "p50": float("nan"), "p99": float("nan"), "non2xx": 0,
                "socket_errors": "", "requests": 0, "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime}
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)), "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "max": _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),
            "requests": int(m.group(1)), "seconds": _ms(m.group(2)) / 1000,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": sock.group(1).strip() if sock else "",
            "cpu": usage.ru_utime + usage.ru_stime}


# ------------------------------------------------------------------ the demo's data the users need
def demo_inputs(database_url: str) -> tuple[list[str], list[str]]:
    """(up to 1,000 active dispute-code tokens, search terms: whole case numbers, their last six
    digits, party names), in a fixed order so that a seed repeats a run."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            tokens = [r[0] for r in c.execute(text(
                "SELECT token FROM dispute_code WHERE revoked_at IS NULL ORDER BY md5(token) LIMIT 1000"))]
            rows = c.execute(text(
                "SELECT c.number, min(p.name) FROM dispute_case c JOIN party p ON p.case_id = c.id "
                "GROUP BY c.id, c.number ORDER BY md5(c.number) LIMIT 300")).all()
    finally:
        engine.dispose()
    terms = []
    for i, (number, name) in enumerate(rows):
        terms.append([number, number[-6:], name][i % 3])
    return tokens, terms


# ------------------------------------------------------------------ printing
def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, n: int) -> str:
    return s + " " * max(0, n - width(s))


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(res: LevelResult, args) -> dict:
    load = res.load
    print(f"\n== {res.sessions} sessions, {args.duration} s, think {args.think[0]:g}–{args.think[1]:g} s, "
          f"seed {args.seed} ==")
    print(f"load average (1 min): before {load['before'][0]:.2f}, during mean {load['mean']:.2f} / max {load['max']:.2f}, "
          f"after {load['after'][0]:.2f}; cores: {os.cpu_count()}")
    cpu = res.cpu
    parts = [f"portal {cpu['portal']:.2f}" if cpu.get("portal") is not None else "portal ? (pid unknown)",
             f"driver {cpu['driver']:.2f}"] + ([f"wrk {cpu['wrk']:.2f}"] if cpu.get("wrk") is not None else []) \
        + ([f"public page's own process {cpu['public process']:.2f}"] if cpu.get("public process") is not None else [])
    print("CPU used, in cores: " + ", ".join(parts)
          + ("; portal memory " + ", ".join(f"{now:.0f} MB resident ({peak:.0f} MB at most)" for now, peak in res.memory)
             if res.memory else ""))
    if res.logins or res.login_errors:
        print(f"login (POST /login, argon2id; no target): {len(res.logins)} logins, p50 {pct(res.logins, 50):.0f} ms, "
              f"p95 {pct(res.logins, 95):.0f} ms, max {max(res.logins, default=float('nan')):.0f} ms"
              + (f"; failed: {dict(res.login_errors)}" if res.login_errors else ""))
    total = sum(len(v) for v in res.times.values())
    print(f"{total} interactions in {res.wall:.0f} s ({total / res.wall:.1f}/s)")
    print(f"{pad('interaction', 16)}{'n':>6}{'p50':>8}{'p95':>8}{'max':>8}{'errors':>8}   p95 < {TARGET_P95_MS} ms, no errors")
    all_ok = True
    for name in INTERACTIONS:
        t = res.times.get(name, [])
        errs = sum(res.errors[name].values())
        ok = bool(t) and pct(t, 95) < TARGET_P95_MS and errs == 0
        all_ok &= ok
        print(f"{pad(name, 16)}{len(t):>6}{pct(t, 50):>8.0f}{pct(t, 95):>8.0f}{max(t, default=float('nan')):>8.0f}"
              f"{errs:>8}   {verdict(ok)}")
    everything = [x for v in res.times.values() for x in v]
    n_err = sum(sum(c.values()) for c in res.errors.values())
    print(f"{pad('all', 16)}{len(everything):>6}{pct(everything, 50):>8.0f}{pct(everything, 95):>8.0f}"
          f"{max(everything, default=float('nan')):>8.0f}{n_err:>8}")
    for name, c in res.errors.items():
        if c:
            print(f"  errors in {name}: " + ", ".join(f"{k} ×{v}" for k, v in c.most_common()))
    public_ok = None
    if res.public is not None:
        p = res.public
        if "error" in p:
            print(f"public page: wrk failed: {p['error']}")
            public_ok = False
        else:
            public_ok = p["p99"] < PUBLIC_P99_MS and p["non2xx"] == 0 and not p["socket_errors"]
            print(f"public page GET /c/<token>: asked {args.public_rate} req/s over {args.public_connections} connections, "
                  f"achieved {p['rps']:.0f} req/s ({p['requests']:,} in {p['seconds']:.0f} s); "
                  f"p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms, max {p['max']:.0f} ms; non-2xx {p['non2xx']}"
                  + (f"; socket errors: {p['socket_errors']}" if p["socket_errors"] else "")
                  + f"   p99 < {PUBLIC_P99_MS} ms: {verdict(public_ok)}")
    return {"sessions": res.sessions, "ok": all_ok, "public_ok": public_ok,
            "p95": pct(everything, 95), "errors": n_err, "public_p99": res.public["p99"] if res.public else None}


# ------------------------------------------------------------------ --check: the driver against Chromium
CHECK_INIT_JS = """
window.__clk = {t: null, moved: false, off: null};
const mark = (e) => { window.__clk = {t: e.timeStamp, moved: false, off: null}; };
document.addEventListener('click', mark, true);
document.addEventListener('keydown', (e) => { if (e.key === 'Enter') mark(e); }, true);
new MutationObserver((records) => {
  for (const r of records) if (r.attributeName === 'data-test-script-state') {
    window.__clk.moved = true;
    if (r.target.getAttribute('data-test-script-state') === 'notRunning') window.__clk.off = performance.now();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""

CHECK_SETTLED_JS = """
([sel, txt]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!(window.__clk && window.__clk.moved)) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const seen = [...document.querySelectorAll(sel)].some(
    (el) => el.offsetParent !== null && (!txt || el.innerText.includes(txt)));
  // [drawn: now, run over: when the run state last turned notRunning], both since the event
  return seen ? [performance.now() - window.__clk.t, window.__clk.off - window.__clk.t] : false;
}
"""


class BrowserUser:
    """The same interactions in Chromium, timed in the page (as bench/bench_clicks.py does)."""

    def __init__(self, page, base: str, server_pid: int | None):
        self.page, self.base, self.pid = page, base, server_pid
        self.cpu0: float | None = None

    async def settled(self, sel: str, txt: str = "") -> tuple[float, float, float | None]:
        """(ms until drawn, ms until the page said the run was over, the portal's CPU ms meanwhile)"""
        try:
            handle = await self.page.wait_for_function(CHECK_SETTLED_JS, arg=[sel, txt], polling="raf", timeout=60_000)
        except Exception:
            shot = Path(tempfile.gettempdir()) / f"bench-sessions-check-{os.getpid()}.png"
            await self.page.screenshot(path=str(shot), full_page=True)
            state = await self.page.evaluate("""() => ({clk: window.__clk,
              state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
              stale: document.querySelectorAll('[data-stale="true"]').length})""")
            raise RuntimeError(f"the browser did not settle on {sel} {txt!r}: {state}; screenshot {shot}") from None
        drawn, over = await handle.json_value()
        cpu1 = cpu_seconds(self.pid)
        return float(drawn), float(over), (cpu1 - self.cpu0) * 1000 if cpu1 is not None else None

    async def idle(self) -> None:
        await self.page.wait_for_function("""() => {
          const app = document.querySelector('[data-testid="stApp"]');
          return app && app.getAttribute('data-test-script-state') === 'notRunning'
            && !document.querySelector('[data-stale="true"]');
        }""", polling="raf", timeout=60_000)
        await self.page.wait_for_timeout(300)
        self.cpu0 = cpu_seconds(self.pid)

    async def login(self) -> None:
        p = self.page
        await p.goto(self.base + "/login")
        await p.get_by_label("用户名").fill(ACCOUNT)
        await p.get_by_label("密码").fill(PASSWORD)
        await p.get_by_role("button", name="登录").click()
        await p.get_by_role("heading", name="工作台").wait_for(timeout=60_000)
        await self.idle()

    async def nav(self, title: str, sel: str = "h1", txt: str | None = None) -> tuple[float, float]:
        await self.idle()
        await self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        return await self.settled(sel, title if txt is None else txt)

    async def search(self, term: str) -> tuple[float, float]:
        await self.idle()
        box = self.page.get_by_label("搜索")
        await box.fill(term)
        await box.press("Enter")
        return await self.settled('[data-testid="stCaptionContainer"]', "共 ")

    async def open_case(self) -> tuple[float, float]:
        await self.idle()
        shown = await self.page.get_by_role("combobox", name="打开案件").input_value()
        number = CASE_NUMBER.search(shown).group(0)
        await self.page.get_by_role("button", name="打开", exact=True).click()
        return await self.settled("h2", number)

    async def period(self, key: str) -> tuple[float, float]:
        await self.idle()
        await self.page.get_by_role("combobox", name="统计期").click()
        option = self.page.get_by_role("option", name=PRESETS[key], exact=True)
        await option.wait_for()
        await option.click()
        return await self.settled('[data-testid="stCaptionContainer"]', period_text(key))


async def check(base: str, terms: list[str], rounds: int, timeout: float, server_pid: int | None) -> None:
    from playwright.async_api import async_playwright

    from tests.browser_support import CHROMIUM_ARGS, chromium_path
    rng = random.Random(7)
    plan = [(rng.choice(terms), rng.choice(PERIOD_KEYS[1:])) for _ in range(rounds + 1)]
    out = {who: defaultdict(list) for who in ("drawn", "over", "protocol", "cpu browser", "cpu protocol")}
    load0 = os.getloadavg()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        page = await (await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")).new_page()
        await page.add_init_script(CHECK_INIT_JS)
        b = BrowserUser(page, base, server_pid)
        await b.login()
        cookie, _ = await asyncio.to_thread(login, base)
        s = Session(base, cookie, timeout)
        await s.home()

        async def browser_round(term, key):
            got = {CASE_LIST: await b.nav("案件列表"), SEARCH: await b.search(term), OPEN_CASE: await b.open_case(),
                   DASHBOARD: await b.nav("领导驾驶舱", '[data-testid="stVegaLiteChart"]', ""),
                   PERIOD: await b.period(key)}
            return {"drawn": {k: v[0] for k, v in got.items()}, "over": {k: v[1] for k, v in got.items()},
                    "cpu browser": {k: v[2] for k, v in got.items()}}

        async def protocol_round(term, key):
            got, cpu = {}, {}
            for name in ROUND:
                await asyncio.sleep(0.3)
                cpu0 = cpu_seconds(server_pid)
                ms, problem = await s.step(name, term, lambda _: key)
                cpu1 = cpu_seconds(server_pid)
                if problem:
                    raise RuntimeError(f"protocol session: {name}: {problem}")
                got[name], cpu[name] = ms, (cpu1 - cpu0) * 1000 if cpu1 is not None else None
            return {"protocol": got, "cpu protocol": cpu}

        for i, (term, key) in enumerate(plan):
            results = {}
            for fn in (browser_round, protocol_round) if i % 2 == 0 else (protocol_round, browser_round):
                results.update(await fn(term, key))
            if i:  # round 0 warms both up
                for who, got in results.items():
                    for name, ms in got.items():
                        out[who][name].append(ms)
            print(f"round {i}{' (warm-up)' if not i else ''}, drawn/run over/protocol: " + "; ".join(
                f"{name} {results['drawn'][name]:.0f}/{results['over'][name]:.0f}/{results['protocol'][name]:.0f}"
                for name in ROUND), flush=True)
        await s.close()
        await browser.close()
    load1 = os.getloadavg()
    print(f"\n--check: one Chromium session and one protocol session, the same interactions on an idle portal, "
          f"{rounds} rounds after a warm-up; medians, ms")
    print("  browser drawn: from the click (or Enter) to the frame where the run is over, nothing is stale and the")
    print("  element is drawn; browser run over: to when the page's run state turned notRunning; protocol: from")
    print("  sending the BackMsg to script_finished")
    print("  portal CPU: CPU time of the portal's process from the click (or the BackMsg) to settled/script_finished")
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}; cores: {os.cpu_count()}")
    print(f"{pad('', 16)}{'---------- browser ----------':>30}{'--------- protocol ---------':>30}")
    print(f"{pad('interaction', 16)}{'drawn':>10}{'run over':>10}{'portal CPU':>11}{'finished':>12}{'portal CPU':>11}"
          "   protocol runs")
    for name in ROUND:
        med = {who: statistics.median(out[who][name]) if None not in out[who][name] else float("nan") for who in out}
        print(f"{pad(name, 16)}{med['drawn']:>10.0f}{med['over']:>10.0f}{med['cpu browser']:>11.0f}"
              f"{med['protocol']:>12.0f}{med['cpu protocol']:>11.0f}   {' '.join(f'{x:.0f}' for x in out['protocol'][name])}")


# ------------------------------------------------------------------ main
async def run_levels(bases: list[str], terms: list[str], tokens: Path | None, args, pids: list[int]) -> list[dict]:
    # warm-up, not measured: on each portal, one user through every interaction and period
    for base in bases:
        cookie, _ = await asyncio.to_thread(login, base)
        s = Session(base, cookie, args.timeout)
        await s.home()
        for i, key in enumerate(PERIOD_KEYS[1:]):
            for name in ROUND:
                ms, problem = await s.step(name, terms[i], lambda _, key=key: key)
                if problem:
                    raise SystemExit(f"warm-up at {base}: {name}: {problem}; the portal is not answering as expected")
        await s.close()
    if tokens is not None and args.public_rate > 0:  # the public page's first requests (connections, plans)
        await asyncio.to_thread(run_wrk, args.public_url or bases[0], tokens, args.public_rate,
                                args.public_connections, 3)
    summary = []
    for n in args.sessions:
        res = await level(n, bases, terms, tokens, args, pids)
        summary.append(report(res, args))
        await asyncio.sleep(3)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="10,25,50", help="levels, comma-separated (default 10,25,50)")
    ap.add_argument("--duration", type=int, default=60, help="seconds per level (default 60)")
    ap.add_argument("--think", default="1,3", help="think time range in seconds (default 1,3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30, help="seconds an interaction may take before it counts as failed")
    ap.add_argument("--url", help="a running portal (e.g. nginx in front of replicas), or several, comma-separated "
                                  "(user i goes to the i-th modulo their number); needs --database-url")
    ap.add_argument("--replicas", type=int, default=1, help="without --url: how many portals to start (default 1); "
                                                            "users are spread over them as a sticky proxy would")
    ap.add_argument("--public-process", action="store_true",
                    help="without --url: start one more portal that only serves the public page (wrk's target)")
    ap.add_argument("--database-url", help="an existing demo database you own (neither loaded nor dropped)")
    ap.add_argument("--public-rate", type=int, default=500, help="GET /c/<token> per second during each level (0: none)")
    ap.add_argument("--public-connections", type=int, default=100)
    ap.add_argument("--public-url", help="send wrk's GET /c/<token> here instead of --url (e.g. a process of its own)")
    ap.add_argument("--login-concurrency", type=int, default=4, help="logins in flight at once before each level")
    ap.add_argument("--check", action="store_true", help="compare the driver with Chromium on an idle portal")
    ap.add_argument("--check-rounds", type=int, default=5)
    ap.add_argument("--server-pid", help="with --url: the pids of the portals behind it on this machine, comma-separated, "
                                         "for their CPU and memory")
    args = ap.parse_args()
    args.sessions = [int(x) for x in args.sessions.split(",") if x.strip()]
    args.think = tuple(float(x) for x in args.think.split(","))
    if args.url and not args.database_url:
        ap.error("--url needs --database-url (the tokens and search terms are read from the database)")
    if args.public_rate > 0 and not args.check and shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk (or --public-rate 0)")
    if args.url and (args.replicas != 1 or args.public_process):
        ap.error("--replicas and --public-process start portals; with --url, list them in --url and --public-url")
    from bench_clicks import create_database, load_demo
    drop = tokens_path = None
    servers = []
    try:
        if args.database_url:
            url = args.database_url
        else:
            url, drop = create_database("mujiu_bench_sessions")
            t = time.perf_counter()
            load_demo(url)
            print(f"demo loaded in {time.perf_counter() - t:.0f} s", flush=True)
        tokens, terms = demo_inputs(url)
        if not tokens or not terms:
            sys.exit("the database has no active dispute codes or no cases with parties: is it the demo?")
        if args.url:
            bases = [u.strip().rstrip("/") for u in args.url.split(",") if u.strip()]
            pids = [int(p) for p in (args.server_pid or "").split(",") if p.strip()]
            public_pid = None
        else:
            from tests.browser_support import LiveServer
            os.environ.pop("ARGON2_PARAMS", None)  # production hashing, as a real login costs
            for i in range(args.replicas + (1 if args.public_process else 0)):
                log = Path(tempfile.gettempdir()) / f"bench-sessions-{os.getpid()}-{i}.log"
                servers.append(LiveServer(url, log))
                print(f"portal {servers[-1].url} (pid {servers[-1].proc.pid}), log {log}"
                      + (", the public page only" if i == args.replicas else ""), flush=True)
            bases = [sv.url for sv in servers[:args.replicas]]
            pids = [sv.proc.pid for sv in servers[:args.replicas]]
            public_pid = servers[-1].proc.pid if args.public_process else None
            if args.public_process:
                args.public_url = servers[-1].url
        print(f"public page: GET /c/<token>, {len(tokens)} active tokens of the demo; {len(terms)} search terms", flush=True)
        if args.check:
            asyncio.run(check(bases[0], terms, args.check_rounds, args.timeout, pids[0] if pids else None))
            return
        fd, name = tempfile.mkstemp(prefix="bench-sessions-tokens-", suffix=".txt")  # 0600, removed below
        tokens_path = Path(name)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(tokens) + "\n")
        args.public_pid = public_pid
        summary = asyncio.run(run_levels(bases, terms, tokens_path, args, pids))
    finally:
        if tokens_path is not None:
            tokens_path.unlink(missing_ok=True)
        for sv in servers:
            sv.stop()
        if drop:
            drop()
    print(f"\nsummary against the targets (p95 < {TARGET_P95_MS} ms per interaction and no errors; "
          f"public page p99 < {PUBLIC_P99_MS} ms at {args.public_rate} req/s):")
    for s in summary:
        public = ("" if s["public_ok"] is None
                  else f"; public p99 {s['public_p99']:.1f} ms {verdict(s['public_ok'])}")
        print(f"  {s['sessions']:>3} sessions: p95 of all {s['p95']:.0f} ms, {s['errors']} errors, "
              f"every interaction {verdict(s['ok'])}{public}")


if __name__ == "__main__":
    main()
