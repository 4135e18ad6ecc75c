"""Real browser: staff dispatch a live demo case, generate a person's check-in link on 案件详情,
and the person opens it on a phone-sized browser with JavaScript off, taps 已出发 then 已到场;
the case's first arrival is the server's time and the dashboard's quick-response rate counts it."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from db.models import Case, CaseEvent, Dispatch, DisputeCategory, Mediator, Party
from services import clock
from services.metrics import dashboard
from tests.test_browser_case_loop import WAIT, choose, idle, login
from tests.test_browser_forms import _db, _open_case

pytestmark = pytest.mark.browser
SHOTS = "test-artifacts/checkin"
MOBILE = re.compile(r"1[3-9]\d{9}")


def _quick(portal, day: dt.date) -> tuple[int, int]:
    """The dashboard's quick-response numerator and denominator for one day, rollup refreshed."""
    with _db(portal) as s:
        dashboard.ensure_fresh(s, max_age_seconds=0)
    with _db(portal) as s:
        t = dashboard.totals(s, dashboard.Period(day, day))
        return t["quick"], t["notified"]


def _registered_case(portal) -> tuple[int, str, dt.date]:
    """A live demo case registered and not yet dispatched (the newest: other tests take theirs)."""
    with _db(portal) as s:
        c = s.scalar(select(Case).where(Case.status == "registered", Case.first_notified_at.is_(None))
                     .order_by(Case.received_at.desc()).limit(1))
        return c.id, c.number, clock.local(c.received_at).date()


def test_check_in_link_on_a_phone_without_javascript(page, portal, browser):
    case_id, number, day = _registered_case(portal)
    quick0, notified0 = _quick(portal, day)

    login(page, portal.url, "staff")
    _open_case(page, number)
    page.get_by_role("button", name="调度派员").click()
    expect(page.get_by_text("已调度，15 分钟到场计时开始。")).to_be_visible(timeout=WAIT)
    with _db(portal) as s:
        d = s.scalar(select(Dispatch).where(Dispatch.case_id == case_id).order_by(Dispatch.id).limit(1))
        person = s.get(Mediator, d.mediator_id)
        name, person_phone, dispatch_id = person.name, person.phone, d.id
        case = s.get(Case, case_id)
        address, due = case.address, clock.fmt(d.due_at)
        category = s.scalar(select(DisputeCategory.name).where(DisputeCategory.id == case.category_id))
        mobiles = [m for m in s.scalars(select(Party.mobile).where(Party.case_id == case_id)) if m]
    choose(page, "^调度人员$", re.escape(name))
    page.get_by_role("button", name="生成签到链接").click()
    idle(page)
    code = page.get_by_test_id("stCode").filter(has_text="/k/")
    expect(code).to_be_visible(timeout=WAIT)
    link = code.inner_text().strip()
    assert link.startswith(portal.url + "/k/"), link
    page.screenshot(path=f"{SHOTS}-1-link.png", full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    try:
        mobile = phone.new_page()
        mobile.goto(link)
        expect(mobile.get_by_role("heading", name="调度签到")).to_be_visible(timeout=WAIT)
        html = mobile.content()
        for shown in (number, category, address, due, "剩余"):
            assert shown in html, shown
        assert re.search(r"1[3-9]\d\*{4}\d{4}", html), "the caller's masked phone"
        for full in mobiles + [person_phone]:
            assert full not in html
        assert not MOBILE.search(html), MOBILE.search(html).group(0)  # no full mobile anywhere
        # the page fits the phone: nothing wider than its 390 pixels
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 390

        mobile.get_by_role("button", name="已出发").click()
        expect(mobile.get_by_text("已记录：已出发")).to_be_visible(timeout=WAIT)
        before = clock.now()
        mobile.get_by_role("button", name="已到场").click()
        expect(mobile.get_by_text("已记录：已到场")).to_be_visible(timeout=WAIT)
        after = clock.now()
        # the button now carries the arrival time
        expect(mobile.get_by_role("button", name=re.compile(r"^已到场（\d\d:\d\d）$"))).to_be_visible()
        mobile.screenshot(path=f"{SHOTS}-2-phone.png", full_page=True)
    finally:
        phone.close()

    with _db(portal) as s:
        c = s.get(Case, case_id)
        d = s.get(Dispatch, dispatch_id)
        assert before - dt.timedelta(seconds=1) <= c.first_arrival_at <= after + dt.timedelta(seconds=1)
        assert d.arrived_at == c.first_arrival_at and c.first_arrival_at <= c.arrival_due_at
        events = {e.action: e for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
        assert {"dispatch", "depart", "arrive"} <= set(events)
        assert abs(events["arrive"].at - c.first_arrival_at) < dt.timedelta(seconds=2)
        assert "按时到场" in events["arrive"].note and events["arrive"].username == "checkin_link"
    assert _quick(portal, day) == (quick0 + 1, notified0 + 1)
