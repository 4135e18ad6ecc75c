"""Real browser: staff registers a case, dispatches, records the arrival, transfers and settles it;
the task force records the follow-up and closes it. Screenshots go to test-artifacts/."""
import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SHOTS = "test-artifacts/case-loop"
WAIT = 30000


def login(page, base, username):
    """A demo account's session cookie (the login form has its own tests), then the home page."""
    from tests.browser_support import sign_in
    sign_in(page, base, username)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible(timeout=WAIT)


def idle(page):
    """Wait until Streamlit has finished the rerun the last input caused (its status widget gone)
    and has removed what the previous run drew (a form drawn anew after a save is, for a moment,
    on the page twice: the old copy marked stale)."""
    page.wait_for_timeout(200)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=WAIT)


def go(page, title):
    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=WAIT)


def choose(page, label, option, nth=0, many=False):
    """Pick `option` in the nth selectbox (or multiselect) whose label matches: open it (again if a
    rerun closed it), click the option, wait for the rerun that takes the choice."""
    box = page.get_by_role("combobox", name=re.compile(label)).nth(nth)
    wanted = page.get_by_role("option", name=re.compile(option)).first
    for _ in range(4):
        idle(page)
        box.click()
        try:
            wanted.wait_for(timeout=5000)
            break
        except Exception:  # noqa: BLE001 - the page reran under the click; open the box again
            page.keyboard.press("Escape")
    wanted.click()
    if many:
        page.keyboard.press("Escape")
    else:
        expect(box).to_have_value(re.compile(option), timeout=WAIT)  # the rerun has taken the choice
    idle(page)


def fill_intake(page, name, mobile, description, township="剑光街道"):
    """Fill 案件登记's place, category, summary and first party (a neighbours' dispute), and wait
    for the reruns the choices start; the caller submits."""
    choose(page, "乡镇（街道）", township)
    choose(page, "村（社区）", "社区")
    choose(page, "纠纷类别", "邻里纠纷")
    page.get_by_label("简要案情").fill(description)
    page.get_by_label("当事人1 姓名").fill(name)
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_label("手机号码").press("Tab")
    idle(page)


def pick(page, option):
    """A Streamlit radio option, by its text."""
    idle(page)
    page.get_by_test_id("stRadio").get_by_text(option, exact=True).click()


def act(page, action, button, done):
    pick(page, action)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(done)).to_be_visible(timeout=WAIT)


def test_closed_loop_in_the_browser(page, live_server):
    incident = f"JJ-{uuid.uuid4().hex[:8]}"
    login(page, live_server.url, "staff")
    go(page, "案件登记")
    page.get_by_label("110 警情编号").fill(incident)
    choose(page, "乡镇（街道）", "剑光街道")
    choose(page, "村（社区）", "社区")
    choose(page, "纠纷类别", "邻里纠纷")
    page.get_by_label("简要案情").fill("楼上漏水引发邻里争吵，民警判定为非警务警情")
    page.get_by_label("当事人1 姓名").fill("欧阳明月")
    page.get_by_label("手机号码").fill("1391234567")  # ten digits: refused beside the field
    page.get_by_label("手机号码").press("Tab")
    expect(page.get_by_text("按发生地自动分流：驻所")).to_be_visible(timeout=WAIT)
    idle(page)
    page.get_by_role("button", name="登记案件").click()
    # the message beside the party's mobile field, and the summary saying nothing was saved
    expect(page.get_by_text("当事人1：手机号码应为 11 位", exact=False).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("未保存：当事人1：手机号码应为 11 位", exact=False)).to_be_visible(timeout=WAIT)
    page.screenshot(path=f"{SHOTS}-1-intake-error.png", full_page=True)
    page.get_by_label("手机号码").fill("13912345678")
    page.get_by_label("手机号码").press("Tab")
    idle(page)
    page.get_by_role("button", name="登记案件").click()
    expect(page.get_by_text("案件已登记，编号")).to_be_visible(timeout=WAIT)
    number = re.search(r"丰-\d{4}-\d{6}", page.get_by_text("案件已登记，编号").inner_text()).group(0)
    page.get_by_role("button", name=f"打开案件 {number}").click()

    expect(page.get_by_role("heading", name=number)).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="调度派员").click()
    expect(page.get_by_text("已调度，15 分钟到场计时开始。")).to_be_visible(timeout=WAIT)
    act(page, "记录到场", "记录到场", "已记录到场时间。")
    pick(page, "移送上一级")
    page.get_by_label("调解不成功的原因").fill("双方对赔偿金额分歧较大")
    page.get_by_role("button", name="移送上一级").click()
    expect(page.get_by_text("已移送上一级。")).to_be_visible(timeout=WAIT)
    pick(page, "调解成功")
    page.get_by_label("调解协议要点").fill("楼上住户承担维修费用 800 元")
    page.get_by_role("button", name="记录调解成功").click()
    expect(page.get_by_text("已记录调解成功，进入回访队列。")).to_be_visible(timeout=WAIT)
    page.get_by_role("heading", name=number).scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}-2-settled.png", full_page=True)
    page.get_by_role("button", name="退出登录").click()
    # the revoked session's page (name="登录" alone also matched the 退出登录 button still on screen)
    expect(page.get_by_text("您已退出登录。")).to_be_visible(timeout=WAIT)

    login(page, live_server.url, "taskforce")
    go(page, "案件详情")
    page.get_by_label("案件编号").fill(number)
    page.get_by_role("button", name="打开", exact=True).click()
    expect(page.get_by_role("heading", name=number)).to_be_visible(timeout=WAIT)
    pick(page, "电话回访")
    pick(page, "已履行")
    pick(page, "满意")
    page.get_by_role("button", name="保存回访").click()
    expect(page.get_by_text("回访已记录（满意，协议已履行）。")).to_be_visible(timeout=WAIT)
    act(page, "闭环归档", "闭环归档", "案件已闭环。")
    expect(page.get_by_text("已闭环").first).to_be_visible()
    page.get_by_role("heading", name=number).scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}-3-closed.png", full_page=True)
