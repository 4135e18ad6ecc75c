"""The list component on real pages (AppTest, on SQLite and PostgreSQL): a filter narrows the
rows, the search finds a record, 下一页 shows the following rows and 上一页 the first ones again."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from db.engine import get_engine, session_scope
from db.models import DisputeCategory, Grid, Mediator, Township, Village
from services import audit, clock
from services.cases import intake
from services.roles import SYSTEM
from tests.ui import app_as, by_key, ensure_user, texts


@pytest.fixture
def url(db_url):
    return db_url


def add_cases(url, n: int, mode: str = "station", mobile: str = "13900000000", later: int = 0) -> list[str]:
    """n cases in the first township of the mode, one minute apart (the newest last), received
    `later` minutes after the first batch; their numbers."""
    staff = ensure_user(url, "staff")
    with session_scope(get_engine(url)) as s:
        t = s.scalar(select(Township).where(Township.mode == mode).order_by(Township.code))
        v = s.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
        g = s.scalar(select(Grid).where(Grid.village_id == v.id).order_by(Grid.code))
        cat = s.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "neighbor"))
        start = clock.now() - dt.timedelta(hours=2) + dt.timedelta(minutes=later)
        return [intake.register_case(s, staff, intake.CaseInput(
            source="walk_in", received_at=start + dt.timedelta(minutes=i), township_id=t.id, village_id=v.id,
            grid_id=g.id, category_id=cat, complexity="simple", description=f"楼上漏水引发邻里争吵{i}",
            parties=[intake.PartyInput(name="欧阳明月", role="applicant", mobile=mobile)])).number for i in range(n)]


def shown(at, column: str) -> list[str]:
    return list(at.dataframe[0].value[column])


def township_id(url, mode: str) -> int:
    with session_scope(get_engine(url)) as s:
        return s.scalar(select(Township.id).where(Township.mode == mode).order_by(Township.code))


def test_case_list_pages_filters_and_searches(url):
    station = add_cases(url, 22)  # newest first: page 1 holds the last 20 registered
    village = add_cases(url, 3, mode="village", mobile="13700000000", later=30)
    at = app_as(url, "staff", "pages/case_list.py")
    assert not at.exception
    assert "共 25 件，第 1 / 2 页" in texts(at)
    first = shown(at, "案件编号")
    assert len(first) == 20 and first[0] == village[-1]
    by_key(at.button, "cl_next").click().run()
    assert "第 2 / 2 页" in texts(at)
    assert shown(at, "案件编号") == station[:5][::-1]  # the five oldest, none of page 1 again
    assert by_key(at.button, "cl_next").disabled
    by_key(at.button, "cl_prev").click().run()
    assert shown(at, "案件编号") == first

    by_key(at.selectbox, "cl_township_id").set_value(township_id(url, "village")).run()
    assert "共 3 件，第 1 / 1 页" in texts(at)  # a new filter starts again on page 1
    assert shown(at, "案件编号") == village[::-1]
    by_key(at.selectbox, "cl_township_id").set_value(None).run()
    by_key(at.text_input, "cl_search").input(station[7]).run()
    assert shown(at, "案件编号") == [station[7]]
    by_key(at.text_input, "cl_search").input("137-0000-0000").run()  # a party's mobile, as staff may search
    assert sorted(shown(at, "案件编号")) == sorted(village)


def test_roster_filters_searches_and_pages(url):
    at = app_as(url, "staff", "pages/roster.py")
    assert not at.exception
    first = shown(at, "编码")
    assert len(first) == 50
    by_key(at.button, "roster_next").click().run()
    second = shown(at, "编码")
    assert len(second) == 50 and not set(first) & set(second) and max(first) < min(second)  # ordered by code
    by_key(at.selectbox, "roster_kind").set_value("lawyer").run()
    assert set(shown(at, "人员类别")) == {"律师"}
    assert "共 12 人，第 1 / 1 页" in texts(at)
    with session_scope(get_engine(url)) as s:
        person = s.scalar(select(Mediator).where(Mediator.kind == "lawyer").order_by(Mediator.code.desc()))
    by_key(at.text_input, "roster_search").input(person.name).run()
    assert shown(at, "姓名") == [person.name]


def test_audit_log_pages_by_keyset_and_filters(url):
    with session_scope(get_engine(url)) as s:
        for i in range(60):
            audit.record(s, SYSTEM, "setting.change", "setting", None, f"第{i}次", label=f"设置{i:02d}")
        audit.record(s, SYSTEM, "demo.load", "demo", None, label="演示数据")
    at = app_as(url, "admin", "pages/audit_log.py")
    assert not at.exception
    newest = shown(at, "对象")
    assert len(newest) == 50 and "第 1 页，每页 50 条" in texts(at)
    by_key(at.button, "al_next").click().run()
    older = shown(at, "对象")
    assert "设置00" in older and not set(newest) & set(older)
    by_key(at.button, "al_prev").click().run()
    assert shown(at, "对象") == newest
    by_key(at.selectbox, "al_action").set_value("demo.load").run()
    assert shown(at, "对象") == ["演示数据"] and not [b for b in at.button if b.key == "al_next"]


def test_case_list_jumps_to_a_received_date(url):
    """跳到接报日期 starts the list at that day's newest case; clearing it returns to the newest."""
    older = add_cases(url, 2, later=-3 * 24 * 60)  # three days earlier
    newer = add_cases(url, 2)
    at = app_as(url, "staff", "pages/case_list.py")
    assert shown(at, "案件编号") == newer[::-1] + older[::-1]
    day = clock.local(clock.now() - dt.timedelta(days=2)).date()
    at.date_input(key="cl_jump").set_value(day).run()
    assert not at.exception
    assert shown(at, "案件编号") == older[::-1]
    assert f"共 4 件，自 {day.isoformat()} 起第 1 页（按接报时间倒序）" in texts(at)
    at.date_input(key="cl_jump").set_value(None).run()
    assert shown(at, "案件编号") == newer[::-1] + older[::-1]
    assert "共 4 件，第 1 / 1 页（按接报时间倒序）" in texts(at)


def test_case_list_says_when_its_count_is_an_estimate(url, monkeypatch):
    """Above the exact-count limit PostgreSQL's estimate is shown as 约 N 件（估算）; SQLite counts."""
    from services.cases import case_queries
    add_cases(url, 5)
    monkeypatch.setattr(case_queries, "EXACT_COUNT_LIMIT", 3)
    at = app_as(url, "staff", "pages/case_list.py")
    assert not at.exception
    assert len(shown(at, "案件编号")) == 5
    caption = next(c.value for c in at.caption if "第 1" in c.value)
    if url.startswith("postgresql"):
        assert re.fullmatch(r"约 [\d,]+ 件（估算），第 1 页（按接报时间倒序）", caption), caption
    else:
        assert caption == "共 5 件，第 1 / 1 页（按接报时间倒序）"


def test_case_list_counts_on_its_first_page_only(url, monkeypatch):
    """下一页 reads the next rows by keyset and shows the first page's count: counting a million
    rows again for every page would cost more than the page itself."""
    from services.cases import case_queries
    add_cases(url, 22)
    calls = []
    real = case_queries.list_cases
    monkeypatch.setattr(case_queries, "list_cases",
                        lambda *a, **kw: calls.append((kw.get("after"), kw.get("count"))) or real(*a, **kw))
    at = app_as(url, "staff", "pages/case_list.py")
    assert "共 22 件，第 1 / 2 页" in texts(at) and calls == [(None, True)]
    by_key(at.button, "cl_next").click().run()
    assert "共 22 件，第 2 / 2 页" in texts(at)
    assert [count for after, count in calls if after is not None] == [False]  # page 2: no count, page 1's shown
    by_key(at.selectbox, "cl_township_id").set_value(township_id(url, "station")).run()  # a new filter counts anew
    assert "共 22 件，第 1 / 2 页" in texts(at) and calls[-1] == (None, True)
