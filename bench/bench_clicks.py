"""Benchmark: how long the portal's everyday clicks take in Chromium, as the demo's `staff`, on PostgreSQL.

    .venv/bin/python bench/bench_clicks.py                 # create a database, load the demo, measure, drop it
    .venv/bin/python bench/bench_clicks.py --runs 5 --database-url postgresql+psycopg://.../mine
                                                           # measure against a demo database you own (kept)

1. Creates the PostgreSQL database `mujiu_bench_clicks_<pid>` on the server of TEST_PG_ADMIN_URL (its own
   name: no other database is touched), runs `manage.py migrate` and `manage.py load-demo` with APP_MODE=demo
   and the production password hashing (no ARGON2_PARAMS), and drops it at the end (also on failure).
2. Starts the portal the way the browser tests do (`uvicorn serve:app`, tests/browser_support.py) and drives
   Debian's Chromium with Playwright.
3. For each click: one warm-up, then `--runs` measured runs (default 5); prints the median against its target,
   with the machine's load average before and after.

"Settled", precisely: the time from the click event (its `timeStamp` in the page, the same clock as
`performance.now()`) to the first animation frame at which all of these hold:
  - Streamlit's script-run state (`data-test-script-state` on `[data-testid=stApp]`, the attribute Streamlit's
    own e2e helper `wait_for_app_run` waits on) has changed at least once since the click and is `notRunning`
    again;
  - no element of the previous run is still on screen (`[data-stale=true]` count is 0);
  - the element the click is for is visible (a heading, a message, a chart), matched by selector and text.
Frames are polled with requestAnimationFrame, so a figure is exact to about one frame (16 ms). For the login
the click is on the plain /login form and the page is replaced: the click's wall-clock time is kept in
sessionStorage and the settle time is taken against it (same conditions, on the new page).

Nothing here is a test: timings depend on the machine. Figures go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WAIT = 60_000

TARGETS = {  # click -> target in ms
    "登录 → 工作台": 500,
    "案件列表": 150, "案件详情": 150, "分级调处看板": 150, "领导驾驶舱": 150, "工作台": 150,
    "驾驶舱切换统计期": 250,
    "提交案件登记": 300,
    "按编号打开案件": 150,
    "移送上一级": 300,
}

# Installed in every document before its scripts run: remember the last click, and whether Streamlit's
# script-run state changed after it.
INIT_JS = """
window.__clk = {t: null, moved: false};
document.addEventListener('click', (e) => {
  window.__clk = {t: e.timeStamp, moved: false};
  try { sessionStorage.setItem('__clickEpoch', String(performance.timeOrigin + e.timeStamp)); } catch (_) {}
}, true);
new MutationObserver((records) => {
  for (const r of records) if (r.attributeName === 'data-test-script-state') window.__clk.moved = true;
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
// A run that starts and ends within one batch of messages may never change that attribute (React
// draws both states in one go): any change to the page's content after the click counts as well.
new MutationObserver(() => { if (window.__clk.t !== null) window.__clk.moved = true; })
  .observe(document, {childList: true, subtree: true, characterData: true});
"""

SETTLED_JS = """
([sel, txt, sinceLoad]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!sinceLoad && !(window.__clk && window.__clk.moved)) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const seen = [...document.querySelectorAll(sel)].some(
    (el) => el.offsetParent !== null && (!txt || el.innerText.includes(txt)));
  if (!seen) return false;
  if (sinceLoad) return performance.timeOrigin + performance.now() - Number(sessionStorage.getItem('__clickEpoch'));
  return performance.now() - window.__clk.t;
}
"""


def settled(page, sel: str, txt: str = "", since_load: bool = False) -> float:
    handle = page.wait_for_function(SETTLED_JS, arg=[sel, txt, since_load], polling="raf", timeout=WAIT)
    return float(handle.json_value())


def idle(page) -> None:
    """Between measurements: the app is not running and nothing stale is shown."""
    page.wait_for_function("""() => {
      const app = document.querySelector('[data-testid="stApp"]');
      return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-stale="true"]');
    }""", polling="raf", timeout=WAIT)
    page.wait_for_timeout(150)


# ------------------------------------------------------------------ the database
def create_database(prefix: str = "mujiu_bench_clicks") -> tuple[str, callable]:
    """A new, empty database named `<prefix>_<pid>_<random>`, and the function that drops it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return url, drop


def load_demo(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARGON2_PARAMS"}
    env.update(DATABASE_URL=url, APP_MODE="demo")
    for cmd in (["migrate"], ["load-demo"]):
        subprocess.run([sys.executable, "manage.py", *cmd], cwd=ROOT, env=env, check=True)


# ------------------------------------------------------------------ the clicks
def login(page, base: str) -> float:
    page.context.clear_cookies()
    page.goto(base + "/login")
    page.get_by_label("用户名").fill("staff")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    return settled(page, "h1", "工作台", since_load=True)


def nav(page, title: str, sel: str = "h1", txt: str | None = None) -> float:
    idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    return settled(page, sel, title if txt is None else txt)


def choose(page, label: str, option: str) -> None:
    """The browser tests' way to pick an option (it reopens a box a rerun closed under the click)."""
    from tests.test_browser_case_loop import choose as choose_option
    choose_option(page, label, option)


def period_change(page, preset_label: str, expect_text: str) -> float:
    idle(page)
    page.get_by_role("combobox", name="统计期").click()
    option = page.get_by_role("option", name=preset_label, exact=True)
    option.wait_for()
    option.click()
    return settled(page, '[data-testid="stCaptionContainer"]', expect_text)


def intake(page, n: int) -> tuple[float, str]:
    idle(page)
    page.get_by_label("110 警情编号").fill(f"BENCH-{n}-{uuid.uuid4().hex[:6]}")
    page.get_by_label("110 警情编号").press("Tab")
    from tests.test_browser_case_loop import fill_intake
    fill_intake(page, "测试当事人", "13912345678", "基准测试：楼上漏水引发邻里争吵")
    page.get_by_role("button", name="登记案件").click()
    ms = settled(page, '[data-testid="stAlert"]', "案件已登记，编号")
    number = re.search(r"丰-\d{4}-\d{6}", page.get_by_text("案件已登记，编号").inner_text()).group(0)
    return ms, number


def open_by_number(page, number: str) -> float:
    idle(page)
    box = page.get_by_label("案件编号")
    for _ in range(3):  # the expander folds once a case is open: its field is then inert (drawn, not usable)
        if box.is_visible() and box.evaluate("e => !e.closest('[inert]')"):
            break
        page.get_by_text("按案件编号打开").click()
        page.wait_for_timeout(300)
    box.fill(number)  # the click commits the typed number (as a user's does)
    page.get_by_role("button", name="打开", exact=True).click()
    return settled(page, "h2", number)


def escalate(page, number: str) -> float:
    open_by_number(page, number)
    idle(page)
    page.get_by_role("button", name="调度派员").click()
    settled(page, '[data-testid="stAlert"]', "已调度")
    idle(page)
    page.get_by_test_id("stRadio").get_by_text("记录到场", exact=True).click()
    idle(page)
    page.get_by_role("button", name="记录到场").click()
    settled(page, '[data-testid="stAlert"]', "已记录到场时间")
    idle(page)
    page.get_by_test_id("stRadio").get_by_text("移送上一级", exact=True).click()
    idle(page)
    page.get_by_label("调解不成功的原因").fill("双方对赔偿金额分歧较大")
    page.get_by_label("调解不成功的原因").press("Tab")
    idle(page)
    page.get_by_role("button", name="移送上一级").click()
    return settled(page, '[data-testid="stAlert"]', "已移送上一级")


def measure(base: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM_ARGS, chromium_path
    out: dict[str, list[float]] = {k: [] for k in TARGETS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN").new_page()
        page.add_init_script(INIT_JS)
        for i in range(runs + 1):
            ms = login(page, base)
            if i:
                out["登录 → 工作台"].append(ms)
        pages = [("案件列表", "h1", "案件列表"), ("案件详情", "h1", "案件详情"), ("分级调处看板", "h1", "分级调处看板"),
                 ("领导驾驶舱", '[data-testid="stVegaLiteChart"]', ""), ("工作台", "h1", "工作台")]
        for i in range(runs + 1):
            for title, sel, txt in pages:
                ms = nav(page, title, sel, txt)
                if i:
                    out[title].append(ms)
        nav(page, "领导驾驶舱", '[data-testid="stVegaLiteChart"]', "")
        for i in range(runs + 1):  # between the article's period and this year, both cached after the warm-up
            for label, caption in (("本年", f"统计期 {time.strftime('%Y')}-01-01"), ("文章统计期 2023-07-01—2023-12-08",
                                                                                 "统计期 2023-07-01")):
                ms = period_change(page, label, caption)
                if i:
                    out["驾驶舱切换统计期"].append(ms)
        nav(page, "案件登记")
        numbers = []
        for i in range(runs + 1):
            ms, number = intake(page, i)
            numbers.append(number)
            if i:
                out["提交案件登记"].append(ms)
        nav(page, "案件详情")
        for i in range(runs + 1):
            for number in (numbers[0], numbers[-1]):
                ms = open_by_number(page, number)
                if i:
                    out["按编号打开案件"].append(ms)
        for i, number in enumerate(numbers):
            ms = escalate(page, number)
            if i:
                out["移送上一级"].append(ms)
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", help="an existing demo database you own (neither loaded nor dropped)")
    args = ap.parse_args()
    from tests.browser_support import LiveServer
    drop = None
    if args.database_url:
        url = args.database_url
    else:
        url, drop = create_database()
    server = None
    try:
        if drop:
            t = time.perf_counter()
            load_demo(url)
            print(f"demo loaded in {time.perf_counter() - t:.0f} s", flush=True)
        os.environ.pop("ARGON2_PARAMS", None)
        log = Path(tempfile.gettempdir()) / f"bench-clicks-{os.getpid()}.log"
        server = LiveServer(url, log)
        before = os.getloadavg()
        figures = measure(server.url, args.runs)
        after = os.getloadavg()
    finally:
        if server is not None:
            server.stop()
        if drop:
            drop()
    print(f"\nload average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}; "
          f"after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; cores: {os.cpu_count()}")
    print(f"{'click':<16}{'target':>8}{'median':>9}  runs (ms)")
    for name, target in TARGETS.items():
        runs = figures[name]
        med = statistics.median(runs) if runs else float("nan")
        mark = "ok" if med <= target else "over"
        print(f"{name:<16}{target:>8}{med:>9.0f}  {' '.join(f'{x:.0f}' for x in runs)}  {mark}")


if __name__ == "__main__":
    main()
