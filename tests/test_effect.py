"""机制成效 on the dashboard: the article's period against the pre-scheme baseline of the demo, the
task-force counts, the room split; the dashboard fixes (empty previous period, partial weeks,
numeric exports). Both databases."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.models import Case, CaseEvent, Dispatch
from services.cases import ladder
from services.metrics import dashboard
from services.metrics.dashboard import Period
from tests.test_metrics import JULY, L, make_case, org


@pytest.fixture
def demo(demo_url):
    with session_scope(get_engine(demo_url)) as s:
        yield s


def test_article_period_against_the_pre_scheme_baseline(demo):
    e = dashboard.effect(demo, Period.article())
    # the period before 文章统计期 lies before the first case handed to a room: the baseline
    assert e["launch"] == dt.date(2023, 7, 1) and e["baseline"] and e["before_label"] == "实施前（基线）"
    assert e["before"].text == "2023-01-21—2023-06-30"
    rows = {r.key: r for r in e["rows"]}
    assert rows["success_rate"].show(rows["success_rate"].now) == "98.5%"
    # the baseline is built to settle 63.0% over its half year; the comparison window holds ~1,600
    # of its cases, a random part of them, so ±3 points (about 2.5 standard deviations)
    assert 0.60 <= rows["success_rate"].before <= 0.66
    police = rows["police_minutes"]
    assert police.measured and "实测" in police.explain
    assert 18 <= police.now <= 22 and 55 <= police.before <= 65  # handover 15-25 min after arriving; before 45-75
    assert police.now / police.before == pytest.approx(1 / 3, abs=0.06)  # "cut by about two thirds"
    assert rows["quick_rate"].now > 0.9 and rows["quick_rate"].before < 0.5
    assert rows["repeat_share"].before > rows["repeat_share"].now
    assert e["counts"] == {"risk_notices": 50, "meetings": 11, "bulletins": 16, "video_links": 59,
                           "consultations": 55}
    rooms = {r["room"]: r for r in e["rooms"]}
    assert rooms["station_room"]["handed"] == 2348 and rooms["station_room"]["success_rate"] == 0.985
    modes = {m["mode"]: m for m in e["modes"]}
    assert (dashboard.pct(modes["station"]["share"]), dashboard.pct(modes["village"]["share"])) == ("66.6%", "33.4%")


def test_the_article_figures_do_not_move_with_the_baseline(demo):
    tiles = {t.key: t for t in dashboard.headline(demo, Period.article())}
    assert (tiles["received"].display, tiles["success_rate"].display, tiles["satisfaction_rate"].display) == \
        ("4,956", "98.5%", "99.2%")
    # and the baseline's cases are police alone: no room, no transfer, settled (if at all) on site
    lo, hi = Period(dt.date(2023, 1, 1), dt.date(2023, 6, 30)).utc_bounds()
    base = (Case.received_at >= lo, Case.received_at < hi)
    n = demo.scalar(select(func.count()).select_from(Case).where(*base))
    assert 1700 <= n <= 1900
    assert demo.scalar(select(func.count()).select_from(Case).where(*base, Case.room_id.isnot(None))) == 0
    assert demo.scalar(select(func.count()).select_from(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                       .where(*base, CaseEvent.action == "transfer")) == 0
    assert set(demo.scalars(select(Case.settled_level).where(*base, Case.settled_level.isnot(None)))) == {"onsite"}
    assert set(demo.scalars(select(Dispatch.duty).join(Case, Case.id == Dispatch.case_id).where(*base))) == \
        {"grid_worker"}
    assert set(demo.scalars(select(Case.status).where(*base))) == {"closed"}
    assert set(demo.scalars(select(Case.source).where(*base))) == {"110"}
    # every event of the baseline lies before the scheme's first day
    assert demo.scalar(select(func.max(CaseEvent.at)).join(Case, Case.id == CaseEvent.case_id).where(*base)) < hi


def test_baseline_histories_replay_through_the_ladder(demo):
    from tests.test_demo_cases import _replay
    lo, hi = Period(dt.date(2023, 1, 1), dt.date(2023, 6, 30)).utc_bounds()
    cases = demo.scalars(select(Case).where(Case.received_at >= lo, Case.received_at < hi).order_by(Case.id)
                         .limit(150)).all()
    assert cases
    for case in cases:
        _replay(demo, case)
        assert case.level in ladder.LADDERS[case.mode]


def test_police_time_is_an_estimate_without_recorded_times(session):
    a, _b, cats = org(session)
    make_case(session, a, L(2023, 7, 3, 10), category_id=cats[0], source="110")
    dashboard.mark_full_refresh(session)
    police = {r.key: r for r in dashboard.effect(session, JULY)["rows"]}["police_minutes"]
    assert not police.measured and "估算" in police.explain and "非实测" in police.explain
    assert (police.now, police.before) == (20, 60)


def test_delta_against_an_empty_previous_period_is_a_dash(session):
    a, _b, cats = org(session)
    make_case(session, a, L(2023, 7, 3, 10), category_id=cats[0], status="settled", settled=L(2023, 7, 3, 11),
              settled_level="onsite")
    make_case(session, a, L(2024, 2, 5, 10), category_id=cats[0])
    dashboard.mark_full_refresh(session)
    # February 2024: data exists before (July 2023) but January 2024 is empty
    tiles = {t.key: t for t in dashboard.headline(session, Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29)))}
    assert tiles["received"].display == "1"
    assert {tiles[k].delta for k in ("received", "settled", "success_rate")} == {dashboard.NO_DELTA}
    e = dashboard.effect(session, Period(dt.date(2024, 2, 1), dt.date(2024, 2, 29)))
    assert e["received"] == (1, None) and not e["baseline"]
    assert {r.change for r in e["rows"] if r.kind == "rate"} == {dashboard.NO_DELTA}


def test_weekly_series_keeps_and_marks_partial_weeks(session):
    a, _b, cats = org(session)
    for day in (1, 5, 12, 31):  # 2023-07-01 is a Saturday, 07-31 a Monday
        make_case(session, a, L(2023, 7, day, 10), category_id=cats[0])
    dashboard.mark_full_refresh(session)
    weeks = dashboard.weekly(session, JULY)
    assert [(w["week"].isoformat(), w["received"], w["days"], w["partial"]) for w in weeks] == [
        ("2023-06-26", 1, 2, True), ("2023-07-03", 1, 7, False), ("2023-07-10", 1, 7, False),
        ("2023-07-31", 1, 1, True)]


def test_core_figures_export_writes_numbers_with_formats(session):
    a, _b, cats = org(session)
    make_case(session, a, L(2023, 6, 3, 10), category_id=cats[0], status="settled", settled=L(2023, 6, 3, 11),
              settled_level="onsite")
    make_case(session, a, L(2023, 7, 3, 10), category_id=cats[0], status="settled", settled=L(2023, 7, 3, 11),
              settled_level="onsite")
    make_case(session, a, L(2023, 7, 4, 10), category_id=cats[0], status="terminated", ended=L(2023, 7, 4, 12))
    dashboard.mark_full_refresh(session)
    header, rows, formats = dashboard.core_figures_table(dashboard.headline(session, JULY))
    exp = dashboard.export_xlsx("驾驶舱_核心指标", JULY, "全市", header, rows, row_formats=formats)
    ws = openpyxl.load_workbook(io.BytesIO(exp.data)).active
    cells = {ws.cell(r, 1).value: (ws.cell(r, 2), ws.cell(r, 3)) for r in range(3, ws.max_row + 1)}
    now, before = cells["调解成功率"]
    assert (now.value, now.number_format) == (0.5, "0.0%") and (before.value, before.number_format) == (1.0, "0.0%")
    now, before = cells["非警务警情"]
    assert (now.value, now.number_format) == (2, "#,##0") and before.value == 1
    assert cells["占110警情比例"][0].value is None  # no 110 total: an empty cell, not "—"
    assert cells["在办案件（当前）"][1].value is None  # a live figure: never compared
    township = dashboard.export_xlsx("驾驶舱_乡镇", JULY, "全市", ["乡镇", "案件数", "调解成功率"],
                                     [["剑南街道", 4956, 0.985]], formats=[None, "int", "percent"])
    ws = openpyxl.load_workbook(io.BytesIO(township.data)).active
    assert (ws["B3"].value, ws["B3"].number_format, ws["C3"].value, ws["C3"].number_format) == \
        (4956, "#,##0", 0.985, "0.0%")


@pytest.mark.browser
def test_leader_sees_the_effect_section_on_the_article_period(page, live_server):
    from playwright.sync_api import expect
    from tests.test_browser_login import login
    page.set_viewport_size({"width": 1500, "height": 1200})
    login(page, live_server.url, "leader")
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="领导驾驶舱").click()
    expect(page.get_by_role("heading", name="机制成效")).to_be_visible(timeout=30000)
    success = page.locator(".st-key-effect_success_rate")
    expect(success.get_by_test_id("stMetricValue")).to_have_text("98.5%", timeout=30000)
    expect(success.get_by_text("实施前（基线）：")).to_be_visible()
    before = success.get_by_text("实施前（基线）：").inner_text()
    assert float(before.split("：")[1].split("%")[0]) == pytest.approx(63, abs=3), before
    police = page.locator(".st-key-effect_police_minutes")
    expect(police.get_by_test_id("stMetricValue")).to_have_text("20 分钟")
    expect(police.get_by_text("实测")).to_be_visible()
    for i, (count, share) in enumerate((("3,299", "占全部接报 66.6%"), ("1,657", "占全部接报 33.4%"),
                                        ("2,348", "成功率 98.5%"))):
        split = page.locator(f".st-key-effect_split_{i}")
        expect(split.get_by_test_id("stMetricValue")).to_have_text(count)
        expect(split.get_by_text(share, exact=True)).to_be_visible()
    # the share of all 110 calls appears once (the tile), not again under 警务视角
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert values.count("13.7%") == 1, values
    # the repeat-call share waits for 重复报警分析 (slow on large data), then compares too
    repeat = page.locator(".st-key-effect_repeat_share")
    expect(repeat.get_by_text("按需计算")).to_be_visible()
    expect(repeat.get_by_test_id("stMetricValue")).to_have_text("—")
    page.get_by_text("重复报警分析：").click()
    expect(repeat.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d+\.\d%$"), timeout=30000)
    before = repeat.get_by_text("实施前（基线）：").inner_text()
    now = float(repeat.get_by_test_id("stMetricValue").inner_text().rstrip("%"))
    assert float(before.split("：")[1].split("%")[0]) > now, before
    page.screenshot(path="test-artifacts/dashboard-effect.png", full_page=True)
