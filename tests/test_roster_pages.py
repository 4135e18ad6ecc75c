"""The 母舅名册 and 值班安排 pages, opened through the real router as each role (AppTest, SQLite)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from components import navigation
from db.engine import get_engine, session_scope
from db.models import DutyShift, Mediator, Township
from services import clock
from tests.test_roster import restore_people, snapshot_people
from tests.ui import ROOT, app_as, by_key, texts

D = dt.date(2026, 3, 2)  # a Monday


@pytest.fixture(autouse=True)
def _people_kept(_sqlite_backend):
    """Set up before ui_url, torn down after its wipe: the kept mediator table is restored."""
    snap = snapshot_people(_sqlite_backend)
    yield
    clock.freeze(None)
    restore_people(_sqlite_backend, snap)


@pytest.fixture
def url(ui_url, monkeypatch):
    # While features are merged one by one, the router must not trip over pages not written yet.
    monkeypatch.setattr(navigation, "PAGES", [p for p in navigation.PAGES if (ROOT / p.path).exists()])
    clock.freeze(clock.local_dt(D.year, D.month, D.day, 10))
    return ui_url


def _submit(at, form: str, label: str):
    by_key(at.button, f"FormSubmitter:{form}-{label}").click().run()
    assert not at.exception, at.exception
    return at


def test_roster_page_staff_sees_full_phones_and_edit_forms(url):
    at = app_as(url, "staff", "pages/roster.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 50 and "手机号" in table.columns
    assert table["手机号"].str.fullmatch(r"1\d{10}").all()
    keys = {b.key for b in at.button}
    assert {"FormSubmitter:roster_add_form-新增", "roster_deactivate"} <= keys
    assert by_key(at.get("download_button"), "roster_export")


def test_roster_page_leader_sees_masked_phones_and_no_edit_controls(url):
    at = app_as(url, "leader", "pages/roster.py")
    assert not at.exception
    assert at.dataframe[0].value["手机号"].str.contains(r"\*\*\*\*").all()
    assert "手机号已脱敏" in texts(at)
    assert {b.key for b in at.button} <= {"roster_export", "roster_prev", "roster_next", "logout"}  # reading only
    assert not at.tabs


def test_staff_adds_a_mediator_and_finds_it_bad_phone_shown_beside_the_field(url):
    at = app_as(url, "staff", "pages/roster.py")
    by_key(at.text_input, "add_name").input("赵德明")
    by_key(at.selectbox, "add_kind").set_value("village")
    by_key(at.text_input, "add_phone").input("12345")
    by_key(at.selectbox, "add_unit").set_value("R-T13-V01")
    _submit(at, "roster_add_form", "新增")
    assert "手机号码应为 11 位" in " ".join(c.value for c in at.caption)
    by_key(at.text_input, "add_phone").input("13900001111")
    _submit(at, "roster_add_form", "新增")
    by_key(at.text_input, "roster_search").input("赵德明").run()
    table = at.dataframe[0].value
    assert list(table["姓名"]) == ["赵德明"] and table["所属单位"].iloc[0].endswith("住村工作室")


def test_staff_assigns_a_cadre_to_a_night_and_sees_it(url):
    with session_scope(get_engine(url)) as s:
        t = s.scalar(select(Township).order_by(Township.code))
        cadre = s.scalar(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == t.id)
                         .order_by(Mediator.code))
        cadre_id, cadre_name, town_name = cadre.id, cadre.name, t.name
    at = app_as(url, "staff", "pages/duty.py")
    assert not at.exception
    assert f"{town_name}未来 14 天有 14 个值班空档" in texts(at)
    night = D + dt.timedelta(days=2)
    by_key(at.selectbox, "duty_assign_date").set_value(night)
    by_key(at.selectbox, "duty_assign_cadre").set_value(cadre_id)
    _submit(at, "duty_assign_form", "安排")
    week = at.dataframe[0].value
    row = week[week["夜间"].str.startswith(f"{night:%m-%d}")].iloc[0]
    assert (row["值班干部"], row["状态"]) == (cadre_name, "已排班")
    assert "14 天有 13 个值班空档" in texts(at)
    with session_scope(get_engine(url)) as s:
        assert s.scalar(select(DutyShift.mediator_id).where(DutyShift.duty_date == night)) == cadre_id

    # who is on duty at 23:00 that night: the cadre; the night before: a gap, shown as an error
    by_key(at.date_input, "duty_now_date").set_value(night)
    by_key(at.time_input, "duty_now_time").set_value(dt.time(23, 0)).run()
    assert cadre_name in " ".join(x.value for x in at.success)
    by_key(at.date_input, "duty_now_date").set_value(night - dt.timedelta(days=1)).run()
    assert "值班空档" in " ".join(x.value for x in at.error)


def test_leader_sees_the_week_and_gaps_but_no_edit_controls(url):
    at = app_as(url, "leader", "pages/duty.py")
    assert not at.exception
    assert len(at.dataframe[0].value) == 7 and "值班空档" in texts(at)
    assert {b.key for b in at.button} == {"logout"}
