"""Real browser, on SQLite and on PostgreSQL, on the demo: staff see a case's earlier disputes
(疑似重复纠纷) on 案件详情 and open one; on 案件登记 a typed mobile that is already a party's
shows the panel before anything is saved, and its case opens in another tab with the form kept."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from db.models import Case, Party
from services.cases import repeats
from services.roles import STAFF, TASKFORCE, Actor
from tests.test_browser_case_loop import WAIT, go, idle, login
from tests.test_browser_forms import _db, _open_case

pytestmark = pytest.mark.browser
STAFF_A = Actor(user_id=None, username="staff", role=STAFF)


def _repeated(portal) -> tuple[dict, list[dict]]:
    """The demo's open case that is its party's third call in 90 days, and its earlier cases."""
    with _db(portal) as s:
        case = repeats.alerts(s, Actor(user_id=None, username="taskforce", role=TASKFORCE))[0]
        return case, repeats.earlier_for_case(s, STAFF_A, case["id"])


def test_case_detail_lists_earlier_disputes_and_opens_one(page, portal):
    case, earlier = _repeated(portal)
    assert len(earlier) >= 2
    login(page, portal.url, "staff")
    _open_case(page, case["number"])
    expect(page.get_by_role("heading", name="疑似重复纠纷")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(f"该案件之前，近 12 个月内已有 {len(earlier)} 件同一当事人")).to_be_visible(timeout=WAIT)
    for row in earlier:
        expect(page.get_by_role("button", name=f"打开 {row['number']}")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name=f"打开 {earlier[-1]['number']}").click()
    expect(page.get_by_role("heading", name=earlier[-1]["number"])).to_be_visible(timeout=WAIT)


def test_intake_shows_earlier_disputes_of_a_typed_mobile_before_saving(page, portal):
    case, _ = _repeated(portal)
    with _db(portal) as s:
        mobile = s.scalar(select(Party.mobile).where(Party.case_id == case["id"]).order_by(Party.id).limit(1))
        total = s.scalar(select(func.count()).select_from(Case))
    with _db(portal) as s:
        expected = repeats.earlier_for_draft(s, STAFF_A, mobiles=[mobile])
    assert case["id"] in {r["id"] for r in expected}
    login(page, portal.url, "staff")
    go(page, "案件登记")
    idle(page)
    expect(page.get_by_role("heading", name="疑似重复纠纷")).to_have_count(0)
    page.get_by_label("手机号码").fill(f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}")  # typed with dashes
    page.get_by_label("手机号码").press("Tab")
    idle(page)
    expect(page.get_by_role("heading", name="疑似重复纠纷")).to_be_visible(timeout=WAIT)
    link = page.get_by_role("link", name=f"打开 {case['number']}")
    expect(link).to_be_visible(timeout=WAIT)
    with _db(portal) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == total  # nothing saved
    with page.context.expect_page(timeout=WAIT) as opened:  # another tab: the form being typed stays
        link.click()
    other = opened.value
    expect(other.get_by_role("heading", name=case["number"])).to_be_visible(timeout=WAIT)
    other.close()
    expect(page.get_by_label("手机号码")).to_have_value(f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}")
