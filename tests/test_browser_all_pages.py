"""Real browser: every demo role opens every page of its menu; no page shows an English word,
Streamlit's exception box, or "None"/"nan"/"NaT" — tables included (their cells are read from
the grid's accessible DOM, which the canvas-drawn st.dataframe keeps for screen readers).

One live server, one browser page per role; each page is visited once, with each of its tabs.
"""
import re

import pytest

from components.navigation import pages_for
from tests.test_browser_case_loop import WAIT, idle, login

pytestmark = pytest.mark.browser

ROLES = {"admin": "admin", "staff": "staff", "leader": "leader", "taskforce": "taskforce",
         "mediator": "mediator", "village": "mediator", "trainer": "trainer"}
# ASCII words a Chinese user is expected to read: file formats, units, product names
ALLOWED = {"PDF", "DOCX", "Excel", "Word", "QR", "MB", "JSON", "xlsx", "XLSX", "CSV",
           # the format hints an empty date or time input draws (Streamlit offers no placeholder for them)
           "yyyy", "mm", "dd", "HH",
           # the environment variable an operator sets instead of the 系统设置 field (named on that page)
           "PUBLIC", "BASE", "URL"}
WORD = re.compile(r"[A-Za-z]+")
CODE = re.compile(r"\b[A-Z]{1,6}(?:-\d{4})?-?\d{2,6}\b")  # case numbers (FC-2026-000123), unit codes (M0001, T01)
API_KEY = re.compile(r"\bmj_(?:110|12345)_[\w-]*…?")  # an API key's prefix on 系统设置 → 对接平台 (an identifier)
URL = re.compile(r"https?://\S+")
MISSING = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT)(?![A-Za-z])")

# The visible text of the main area and the sidebar: text nodes a user can see, without the ligature
# text of Material icons ("keyboard_double_arrow_left") and without two pieces of Streamlit's own
# English that no option removes (the uploader's "Upload" button and "10MB per file"; see the
# report of issue 11). Tables are read separately, from the grid's accessible copy.
VISIBLE_TEXT = """() => {
  const skip = '[data-testid="stFileUploaderDropzoneInstructions"], [data-testid="stFileUploaderDropzone"] button,'
    + '[data-testid="stDataFrame"], [data-stale="true"]';  // stale: left over from the previous screen
  const out = [];
  for (const root of document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const el = node.parentElement;
      if (!el || el.closest(skip) || !el.checkVisibility({visibilityProperty: true})) continue;
      if (getComputedStyle(el).fontFamily.includes('Material')) continue;
      const text = node.textContent.trim();
      if (text) out.push(text);
    }
  }
  return out.join(String.fromCharCode(10));
}"""
# Cells of every table: column headers and the rows the grid has drawn, as one line per cell
GRID_CELLS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]')).map(frame =>
  Array.from(frame.querySelectorAll('table[role="grid"] tr')).map(row =>
    Array.from(row.querySelectorAll('th, td')).map(c => c.textContent)))"""

# Each metric tile's value and change (null without one)
METRICS = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => {
  const v = m.querySelector('[data-testid="stMetricValue"]'), d = m.querySelector('[data-testid="stMetricDelta"]');
  return [v ? v.innerText.trim() : '', d ? d.innerText.trim() : null];
})"""


def english_words(text: str) -> list[str]:
    text = URL.sub(" ", CODE.sub(" ", API_KEY.sub(" ", text)))
    return sorted({w for w in WORD.findall(text) if w not in ALLOWED})


def visible_text(page) -> str:
    frames = page.get_by_test_id("stDataFrame")
    for i in range(frames.count()):  # the grid draws its accessible copy once its data has arrived
        if frames.nth(i).is_visible():  # (a table in a hidden tab is drawn when its tab opens)
            frames.nth(i).locator('table[role="grid"]').wait_for(state="attached", timeout=WAIT)
    tables = page.evaluate(GRID_CELLS)
    cells = "\n".join(c for table in tables for row in table for c in row)
    return page.evaluate(VISIBLE_TEXT) + "\n" + cells, tables


def blank_columns(tables: list) -> list[str]:
    """Columns with an empty cell. The grid draws a missing value as a grey "None" on its canvas but
    leaves the accessible copy empty, so a blank cell is how a "None" shows here: a missing value
    must be written as "—"."""
    blank = []
    for table in tables:
        if len(table) < 2:
            continue
        header, rows = table[0], table[1:]
        blank += sorted({header[i] for row in rows for i, c in enumerate(row) if not c.strip() and i < len(header)})
    return blank


# usernames are what a user types to log in; they are the subject of these pages (the trainer's
# home lists the demo accounts to hand out; the audit log names the account a login was tried for,
# which for an unknown name is all there is)
ACCOUNT_PAGES = {"admin 演示数据", "trainer 演示数据", "admin 用户管理", "trainer 工作台", "admin 操作日志",
                 "taskforce 操作日志"}
USERNAMES = set(ROLES) | {"demo"}


def login_name_words(server) -> set[str]:
    """The ASCII words of every login name in the portal's database (identifiers, as the demo's
    admin/staff: other browser tests add accounts such as idle_user to the same portal)."""
    from sqlalchemy import select

    from db.engine import get_engine, session_scope
    from db.models import User
    with session_scope(get_engine(server.database_url)) as s:
        return {w for name in s.scalars(select(User.username)) for w in WORD.findall(name)}


def check(page, where: str, problems: list[str], names: set[str] = frozenset()) -> None:
    page.locator('[data-stale="true"]').first.wait_for(state="detached", timeout=WAIT)
    text, tables = visible_text(page)
    with open(f"test-artifacts/all-pages-{where.split()[0]}.txt", "a") as dump:
        dump.write(f"===== {where}\n{text}\n")
    words = english_words(text)
    if where.split(" / ")[0] in ACCOUNT_PAGES:
        words = [w for w in words if w not in USERNAMES | names]
    if words:
        problems.append(f"{where}: English {words}")
    missing = set(MISSING.findall(text))
    if missing:
        problems.append(f"{where}: shows {sorted(missing)}")
    blank = blank_columns(tables)
    if blank:
        problems.append(f"{where}: blank (None) cells in {blank}")
    # read in one go: a tile looked up one by one can be redrawn away between two reads
    for value, delta in page.evaluate(METRICS):
        if delta is not None and value not in ("0", "—") and delta.endswith(f"+{value}"):
            # a rise by the whole figure: the previous period had no data, so there is nothing to compare
            problems.append(f"{where}: change against an empty period {delta!r}")
    if page.get_by_test_id("stException").count():
        problems.append(f"{where}: exception box")


@pytest.mark.parametrize("username", ROLES)  # one test per account: they run in parallel
def test_every_role_every_page_is_chinese_and_has_no_none(browser, live_server, username):
    problems: list[str] = []
    open(f"test-artifacts/all-pages-{username}.txt", "w").close()
    role = ROLES[username]
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, timezone_id="Asia/Shanghai")
    page = context.new_page()
    login(page, live_server.url, username)
    idle(page)
    kind = "village" if username == "village" else "station"  # the village room's mediator has no intake
    for spec in pages_for(role, kind):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=spec.title, exact=True).click()
        page.wait_for_url(re.compile(f"/{spec.url_path}$|/$"), timeout=WAIT)
        idle(page)
        page.get_by_test_id("stMain").locator("h1").first.wait_for(timeout=WAIT)
        idle(page)
        where = f"{username} {spec.title}"
        check(page, where, problems, login_name_words(live_server))
        if spec.title == "考核排名" and page.get_by_role("button", name="调解室").count():
            page.get_by_role("button", name="调解室").click()  # the rooms' league table
            idle(page)
            check(page, f"{where} / 调解室", problems, login_name_words(live_server))
        tabs = page.get_by_test_id("stMain").get_by_role("tab")
        for i in range(1, tabs.count()):
            tab = tabs.nth(i)
            name = tab.inner_text()
            tab.click()
            idle(page)
            check(page, f"{where} / {name}", problems, login_name_words(live_server))
    context.close()
    assert not problems, "\n".join(problems)
