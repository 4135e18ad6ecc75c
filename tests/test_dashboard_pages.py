"""AppTest of 领导驾驶舱, 考核排名 and 奖惩登记 as the roles that use them."""
from __future__ import annotations

import datetime as dt
import io
import random

import openpyxl
import pytest
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.models import AwardEntry, DisputeCategory, Setting, Township
from services import clock
from services.metrics import assessment
from services.metrics import dashboard
from services.demo import assessment as demo_assessment, cases as demo_cases
from tests.test_metrics import L, forget_settings, make_case
from tests.ui import form_el, app_as, by_key, texts


@pytest.fixture
def url(ui_url):
    yield ui_url
    forget_settings(ui_url)
    import streamlit as st
    st.cache_data.clear()


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


def _downloads(at):
    return [el for el in at.get("download_button")]


def _no_edit_controls(at):
    assert not at.number_input and not at.text_area
    labels = [b.label for b in at.button]
    for forbidden in ("按当前权重计算并保存快照", "保存权重", "登记", "保存"):
        assert forbidden not in labels, labels


def test_leader_reads_the_dashboard_rankings_and_register_on_demo_data(url, exports):
    with session_scope(get_engine(url)) as s:
        demo_cases.load(s, random.Random(2023))
        demo_assessment.load(s, random.Random(2026))
    at = app_as(url, "leader", "pages/dashboard.py")
    assert not at.exception, at.exception
    # the article's period is the default view; the figures come out close to the article's
    assert _metric(at, "非警务警情").value == "4,956"
    assert _metric(at, "调解成功率").value in ("98.4%", "98.5%", "98.6%")
    assert float(_metric(at, "满意率").value.rstrip("%")) >= 98.5
    assert _metric(at, "占110警情比例").value.endswith("%")
    assert len(at.get("vega_lite_chart")) == 8  # week, mode, source, category, funnel, time, townships, heat
    by_key(at.toggle, "dash_repeats_on").set_value(True).run()
    assert "重复报警" in at.dataframe[-1].value.columns
    assert _downloads(at) and exports[-1].filename == "驾驶舱_核心指标_全市_2023-07-01_2023-12-08.xlsx"
    # narrowing to one township changes every tile to that township's figures
    with session_scope(get_engine(url)) as s:
        town = s.scalar(select(Township).order_by(Township.code))
        expected = dashboard.raw_totals(s, dashboard.Period.article(), dashboard.Scope("township", town.id))["received"]
    by_key(at.selectbox, "dash_scope_kind").set_value("township").run()
    by_key(at.selectbox, "dash_township").set_value(town.id).run()
    assert not at.exception
    assert _metric(at, "非警务警情").value == f"{expected:,}"
    assert town.name in texts(at)
    _no_edit_controls(at)

    at.switch_page("pages/assessment.py").run()
    assert not at.exception
    league = at.dataframe[0].value
    assert league["提示"].tolist().count("后三名") == 3 and league.iloc[0]["名次"] == 1
    assert "2023年11月" in by_key(at.selectbox, "as_run").format_func(by_key(at.selectbox, "as_run").value)
    _no_edit_controls(at)
    assert _downloads(at)

    at.switch_page("pages/awards.py").run()
    assert not at.exception
    assert "¥100,000" in at.dataframe[0].value.to_string()
    assert "只读" in texts(at)
    _no_edit_controls(at)


def _some_cases(url):
    with session_scope(get_engine(url)) as s:
        towns = list(s.scalars(select(Township).where(Township.mode == "station").order_by(Township.code)))[:4]
        cat = s.scalar(select(DisputeCategory.id))
        for i, t in enumerate(towns):
            for k in range(4 - i):
                rec = L(2023, 7, 3 + k, 9)
                make_case(s, t, rec, category_id=cat, status="settled", settled=rec + dt.timedelta(hours=2),
                          settled_level="onsite", mobile="13912345678")
            make_case(s, t, L(2023, 7, 20, 9), category_id=cat, status="terminated", ended=L(2023, 7, 21, 9))


@pytest.fixture
def exports(monkeypatch):
    """Every Export a page hands to the download button (AppTest keeps no file bytes)."""
    from components import charts
    seen, real = [], charts.download
    monkeypatch.setattr(charts, "download", lambda exp, key, label="导出 Excel": (seen.append(exp), real(exp, key, label)))
    return seen


def test_task_force_computes_a_ranking_and_records_an_interview(url, exports):
    _some_cases(url)
    at = app_as(url, "taskforce", "pages/assessment.py")
    assert "尚未生成任何考核排名" in texts(at)
    assert not at.number_input or all(n.key in ("as_call_total",) for n in at.number_input)  # no weights editor
    # the month opens at the last completed one, as a year and a month (not 72 months to scroll)
    last = (clock.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert (by_key(at.selectbox, "as_month_year").value, by_key(at.selectbox, "as_month_mon").value) == \
        (last.year, last.month)
    assert len(by_key(at.selectbox, "as_month_year").options) == 6
    by_key(at.selectbox, "as_month_year").set_value(2023)
    by_key(at.selectbox, "as_month_mon").set_value(7)
    by_key(at.button, "as_compute").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.columns)[:3] == ["名次", "较上期", "单位"]
    assert table.iloc[0]["办理数"] == 5 and str(table.iloc[0]["名次"]) == "1"
    # the export the page offers opens, is named with period and scope, and holds no phone number
    exp = exports[-1]
    assert exp.filename == "考核排名_派出所_全市_2023-07-01_2023-07-31.xlsx"
    cells = [str(c.value) for r in openpyxl.load_workbook(io.BytesIO(exp.data)).active.iter_rows() for c in r]
    assert "综合得分" in cells and not any("13912345678" in c for c in cells)
    with session_scope(get_engine(url)) as s:
        rows = assessment.league_table(s, assessment.runs(s)[0]["id"], "station")

    at.switch_page("pages/awards.py").run()
    by_key(at.selectbox, "aw_new_kind").set_value("interview").run()
    unit_id = [r for r in rows if r["rank"]][-1]["unit_id"]
    form_el(at.selectbox, "aw_new", "unit").set_value(unit_id)
    form_el(at.text_area, "aw_new", "reason").input("7月考核末位，回访不及时")
    form_el(at.button, "aw_new", "submit").click().run()
    assert "约谈须填写日期。" in texts(at)  # beside the field, nothing saved
    with session_scope(get_engine(url)) as s:
        assert s.scalar(select(func.count()).select_from(AwardEntry)) == 0
    form_el(at.selectbox, "aw_new", "unit").set_value(unit_id)
    form_el(at.text_area, "aw_new", "reason").input("7月考核末位，回访不及时")
    form_el(at.date_input, "aw_new", "interview_date").set_value(dt.date(2023, 8, 5))
    form_el(at.text_input, "aw_new", "who").input("政法委副书记约谈所长")
    form_el(at.text_area, "aw_new", "fixes").input("一周内补齐回访台账")
    form_el(at.button, "aw_new", "submit").click().run()
    assert not at.exception
    assert "一周内补齐回访台账" in at.dataframe[0].value.to_string()
    assert "测试taskforce" in at.dataframe[0].value.to_string()


def test_admin_edits_weights_old_ranking_keeps_its_own(url):
    _some_cases(url)
    with session_scope(get_engine(url)) as s:
        from tests.test_assessment import actor
        assessment.compute_run(s, actor(s, "taskforce"), dashboard.Period.month(dt.date(2023, 7, 1)))
    at = app_as(url, "admin", "pages/assessment.py")
    assert not at.exception
    assert [b for b in at.button if b.key == "as_compute"] == []  # admin sets weights, does not compute
    by_key(at.number_input, "as_w_cases").set_value(50.0)
    by_key(at.button, "as_weights_save").click().run()
    assert not at.exception
    with session_scope(get_engine(url)) as s:
        assert s.get(Setting, assessment.WEIGHTS_KEY).value["cases"] == 50.0
    assert "办理数量 10" in texts(at)  # the July snapshot still shows the weights it was computed with


@pytest.mark.browser
def test_clicking_a_township_bar_narrows_the_dashboard(page, live_server):
    """Real browser: clicking the township chart's largest bar narrows every tile to that township.
    The bar is found by its accessible label (Vega renders SVG marks with aria-labels), not by pixels."""
    from playwright.sync_api import expect
    page.set_viewport_size({"width": 1500, "height": 1200})
    page.goto(live_server.url + "/")
    page.get_by_label("用户名").fill("leader")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录").click()
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="领导驾驶舱").click()
    expect(page.get_by_role("heading", name="领导驾驶舱")).to_be_visible(timeout=30000)
    first_tile = page.locator("[data-testid='stMetricValue']").first
    expect(first_tile).to_have_text("4,956", timeout=30000)
    bar = page.locator(".st-key-dash_township_chart [aria-roledescription='bar']").first
    expect(bar).to_be_attached(timeout=30000)
    # Vega's accessible label: "案件数: 434; 乡镇（街道）: 河洲街道; 调解成功: 425; 调解成功率: 98.8%"
    fields = dict(part.split(": ", 1) for part in bar.get_attribute("aria-label").split("; "))
    town, count = fields["乡镇（街道）"], f"{int(fields['案件数'].replace(',', '')):,}"
    bar.scroll_into_view_if_needed()
    bar.click()
    expect(first_tile).to_have_text(count, timeout=30000)
    assert count != "4,956"
    expect(page.locator(".st-key-dash_township").get_by_role("combobox")).to_have_value(town)  # the picker follows
    page.screenshot(path="test-artifacts/dashboard-narrowed.png", full_page=False)
