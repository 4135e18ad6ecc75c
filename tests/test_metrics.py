"""Dashboard figures against small hand-built data sets whose answers are known, on both databases."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import delete, func, insert, select

from db.models import Case, CaseDayStat, CaseEvent, DisputeCategory, FollowUp, Party, PoliceCallTotal, Setting, Township
from services import clock
from services.metrics import dashboard
from services.metrics.dashboard import Period, Scope

L = clock.local_dt
JULY = Period(dt.date(2023, 7, 1), dt.date(2023, 7, 31))
AUGUST = Period(dt.date(2023, 8, 1), dt.date(2023, 8, 31))
_seq = iter(range(1, 10**6))


def forget_settings(url):
    """The setting table survives between tests (conftest keeps it with the organisation)."""
    from db.engine import get_engine, session_scope
    from services.metrics import assessment
    with session_scope(get_engine(url)) as s:
        s.execute(delete(Setting).where(Setting.key.in_(
            [assessment.WEIGHTS_KEY, dashboard.ROLLUP_STATE_KEY, dashboard.POLICE_MINUTES_KEY])))


@pytest.fixture(autouse=True)
def _forget_settings(request):
    yield
    if "backend_url" in request.fixturenames:
        forget_settings(request.getfixturevalue("backend_url"))


def org(session):
    town_a = session.scalar(select(Township).where(Township.mode == "station").order_by(Township.code))
    town_b = session.scalar(select(Township).where(Township.mode == "village").order_by(Township.code))
    cats = list(session.scalars(select(DisputeCategory.id).order_by(DisputeCategory.sort_order, DisputeCategory.id)))
    return town_a, town_b, cats


def make_case(session, township, received, *, category_id, source="walk_in", status="registered", level="onsite",
              settled=None, settled_level=None, ended=None, court="", followed=None, satisfaction=None,
              notified=None, arrived=None, due=None, mobile="13900000000", address="", updated=None,
              room_id=None):
    n = next(_seq)
    now = clock.now()
    c = Case(number=f"测-{n:06d}", source=source, room_id=room_id, received_at=received, township_id=township.id,
             address=address, category_id=category_id, complexity="simple", description="测试案件描述",
             mode=township.mode, level=level, status=status, level_entered_at=received,
             level_due_at=due, first_notified_at=notified,
             arrival_due_at=notified + dt.timedelta(minutes=15) if notified else None, first_arrival_at=arrived,
             settled_at=settled, settled_level=settled_level, ended_at=ended, court_name=court,
             followed_up_at=followed, satisfaction=satisfaction, created_at=received, updated_at=updated or now)
    c.parties = [Party(name="测试人", role="applicant", mobile=mobile, address=address)]
    if followed is not None:
        c.follow_ups = [FollowUp(done_at=followed, method="phone", by_name="专班", satisfaction=satisfaction,
                                 agreement_holds=satisfaction != "dissatisfied")]
    session.add(c)
    session.flush()
    return c


@pytest.fixture
def july(session):
    """Eight cases in and around July 2023 (answers in the comments)."""
    a, b, cats = org(session)
    past = clock.now() - dt.timedelta(days=1)
    future = clock.now() + dt.timedelta(days=30)
    # 1: 110, quick, settled on site the same day, satisfied
    make_case(session, a, L(2023, 7, 3, 10), category_id=cats[0], source="110", status="closed",
              settled=L(2023, 7, 3, 11), settled_level="onsite", followed=L(2023, 7, 5, 9), satisfaction="satisfied",
              notified=L(2023, 7, 3, 10, 5), arrived=L(2023, 7, 3, 10, 15))
    # 2: 12345, late arrival, settled at the station room after 4 days, basic satisfaction
    make_case(session, a, L(2023, 7, 10, 9), category_id=cats[1], source="12345", status="closed", level="station_room",
              settled=L(2023, 7, 14, 9), settled_level="station_room", followed=L(2023, 7, 16), satisfaction="basic",
              notified=L(2023, 7, 10, 9, 5), arrived=L(2023, 7, 10, 9, 40))
    # 3: 110, guided to the courts
    make_case(session, b, L(2023, 7, 20, 8), category_id=cats[0], source="110", status="litigation", level="court",
              ended=L(2023, 7, 25, 8), court="丰城市人民法院")
    # 4: settled at 23:59:59 on the last day of July -> July
    make_case(session, a, L(2023, 7, 31, 12), category_id=cats[2], status="settled",
              settled=L(2023, 7, 31, 23, 59, 59), settled_level="onsite")
    # 5: settled at 00:00:00 on 1 August -> August
    make_case(session, a, L(2023, 7, 31, 13), category_id=cats[2], status="settled",
              settled=L(2023, 8, 1, 0, 0, 0), settled_level="onsite")
    # 6: dissatisfied follow-up reopened it; open and past its time limit
    make_case(session, b, L(2023, 7, 15, 8), category_id=cats[1], status="mediating", level="village_room",
              followed=L(2023, 7, 20), satisfaction="dissatisfied", due=past)
    # 7: open, within its limit
    make_case(session, b, L(2023, 7, 25, 8), category_id=cats[0], status="registered", due=future)
    # 8: June (the previous period): settled at the township centre
    make_case(session, b, L(2023, 6, 20, 8), category_id=cats[0], status="settled", level="township",
              settled=L(2023, 6, 22, 8), settled_level="township")
    dashboard.mark_full_refresh(session)
    return a, b


def test_one_rate_rule_rounds_half_up_to_a_tenth_of_a_point_and_never_divides_by_zero():
    assert [dashboard.rate(*x) for x in ((2, 3), (1971, 2000), (19709, 20000), (0, 5), (5, 0), (0, 0))] == \
        [0.667, 0.986, 0.985, 0.0, None, None]  # 98.55% is 98.6%, 98.545% is 98.5%
    assert [dashboard.pct(v) for v in (0.986, 1.0, 0.0, None)] == ["98.6%", "100.0%", "0.0%", "—"]
    assert dashboard.pct(None, "暂无数据") == "暂无数据"


def test_july_figures_at_city_scope(session, july):
    t = dashboard.totals(session, JULY)
    assert (t["received"], t["from110"], t["settled"], t["failed"], t["litigated"]) == (7, 2, 3, 1, 1)
    r = dashboard.rates(t)
    assert r == {"success_rate": 0.75, "satisfaction_rate": 0.667, "quick_rate": 0.5, "follow_up_rate": 0.667}
    assert {f["stage"]: f["cases"] for f in dashboard.funnel(t)} == {
        "现场调解": 2, "调解室（驻所/住村）": 1, "乡镇综治中心": 0, "市综治中心": 0, "引导司法程序": 1}
    assert [b["cases"] for b in dashboard.settle_time(t)] == [2, 0, 1, 0, 0]
    assert dashboard.open_now(session) == {"open": 2, "overdue": 1}


def test_period_boundary_23_59_59_counts_midnight_does_not(session, july):
    assert dashboard.totals(session, JULY)["settled"] == 3
    assert dashboard.totals(session, AUGUST)["settled"] == 1
    last_day = Period(dt.date(2023, 7, 31), dt.date(2023, 7, 31))
    assert dashboard.totals(session, last_day)["settled"] == 1
    assert dashboard.raw_totals(session, last_day)["settled"] == 1


def test_headline_tiles_show_values_and_change_against_previous_period(session, july):
    tiles = {t.key: t for t in dashboard.headline(session, JULY)}
    assert tiles["received"].display == "7" and tiles["received"].delta == "+6"  # June: 1 case
    assert tiles["settled"].delta == "+2"
    assert tiles["success_rate"].display == "75.0%"
    assert tiles["success_rate"].delta == "-25.0 个百分点"  # June: 1 of 1
    assert tiles["share110"].display == "—"  # no 110 total entered yet
    assert tiles["overdue"].display == "1"


def test_no_change_is_shown_against_a_period_before_the_first_case(session, july):
    # the fixture's first case was received in June 2023: May has no data, so June's figures
    # are not a rise from zero ("+1") but have nothing to compare with
    june = Period(dt.date(2023, 6, 1), dt.date(2023, 6, 30))
    tiles = {t.key: t for t in dashboard.headline(session, june)}
    assert tiles["received"].display == "1"
    assert {tiles[k].delta for k in ("received", "settled", "success_rate", "share110")} == {"—"}
    assert tiles["open"].delta is None and tiles["overdue"].delta is None  # live figures: never compared


def test_share_of_110_calls_needs_the_month_total(session, july):
    session.add(PoliceCallTotal(month=dt.date(2023, 7, 1), total=40, entered_at=clock.now()))
    session.flush()
    ps = dashboard.police_side(session, JULY)
    assert ps["calls110"] == 40 and ps["share"] == pytest.approx(2 / 40)
    assert ps["minutes_saved"] == 2 * (60 - 20)
    half = Period(dt.date(2023, 7, 1), dt.date(2023, 7, 15))
    assert dashboard.call_total_for(session, half) == pytest.approx(40 * 15 / 31)
    assert dashboard.call_total_for(session, Period(dt.date(2023, 7, 20), dt.date(2023, 8, 5))) is None


def test_scope_township_and_station(session, july):
    a, b = july
    tb = dashboard.totals(session, JULY, Scope("township", b.id))
    assert (tb["received"], tb["failed"], tb["followed"]) == (3, 1, 1)
    ta = dashboard.totals(session, JULY, Scope("station", a.police_station_id))
    assert ta["received"] == 4 and ta["settled"] == 3
    assert dashboard.open_now(session, Scope("township", b.id)) == {"open": 2, "overdue": 1}


def test_series(session, july):
    a, b = july
    modes = {m["mode"]: m["received"] for m in dashboard.by_mode(session, JULY)}
    assert modes == {"station": 4, "village": 3}
    sources = {s["source"]: s["received"] for s in dashboard.by_source(session, JULY)}
    assert sources == {"110": 2, "12345": 1, "walk_in": 4}
    assert sum(w["received"] for w in dashboard.weekly(session, JULY)) == 7
    weeks = {w["week"]: w["received"] for w in dashboard.weekly(session, JULY)}
    assert weeks[dt.date(2023, 7, 31)] == 2  # Monday 31 July
    assert weeks[dt.date(2023, 7, 3)] == 1
    heat = {(h["township"], h["category"]): h["received"] for h in dashboard.heat(session, JULY)}
    assert sum(heat.values()) == 7 and heat[(b.name, "邻里纠纷")] == 2


def test_repeat_calls_by_party_phone_or_address_within_30_days(session):
    a, b, cats = org(session)
    kw = dict(category_id=cats[0])
    make_case(session, b, L(2023, 6, 25, 8), mobile="13911112222", **kw)  # June: the earlier call
    make_case(session, b, L(2023, 7, 10, 8), mobile="13911112222", **kw)  # repeat (15 days)
    make_case(session, b, L(2023, 7, 12, 8), mobile="13733334444", address="石滩村3组", **kw)
    make_case(session, b, L(2023, 7, 30, 8), mobile="13855556666", address="石滩村3组", **kw)  # repeat by address
    make_case(session, a, L(2023, 7, 1, 8), mobile="13600001111", **kw)
    make_case(session, a, L(2023, 8, 5, 8), mobile="13600001111", **kw)  # 35 days later: not in July anyway
    make_case(session, a, L(2023, 7, 2, 8), mobile="13500002222", **kw)
    make_case(session, a, L(2023, 7, 31, 9), mobile="13500002222", **kw)  # 29 days 1 h: repeat
    rows = {r["township"]: (r["cases"], r["repeats"]) for r in dashboard.repeat_calls(session, JULY)}
    assert rows == {b.name: (3, 2), a.name: (3, 1)}
    aug = {r["township"]: r["repeats"] for r in dashboard.repeat_calls(session, AUGUST)}
    assert aug == {a.name: 0}  # 13600001111: 35 days after the last call


def _random_cases(session, n, rng):
    towns = list(session.scalars(select(Township).order_by(Township.code)))[:6]
    cats = list(session.scalars(select(DisputeCategory.id)))
    now = clock.now()
    rows = []
    base = L(2023, 6, 1)
    for i in range(n):
        t = rng.choice(towns)
        rec = base + dt.timedelta(minutes=rng.randrange(0, 92 * 24 * 60))
        r = rng.random()
        notified = rec + dt.timedelta(minutes=rng.randrange(1, 10)) if rng.random() < 0.9 else None
        row = dict(number=f"随-{i:06d}", source=rng.choice(["110", "12345", "grid", "walk_in"]), received_at=rec,
                   township_id=t.id, address="", category_id=rng.choice(cats), complexity="simple",
                   description="随机案件", mode=t.mode, level="onsite", status="registered", level_entered_at=rec,
                   level_due_at=None, first_notified_at=notified,
                   arrival_due_at=notified + dt.timedelta(minutes=15) if notified else None,
                   first_arrival_at=notified + dt.timedelta(minutes=rng.randrange(2, 30)) if notified else None,
                   settled_at=None, settled_level=None, ended_at=None, court_name="", followed_up_at=None,
                   satisfaction=None, created_at=now, updated_at=now, version=1, after_hours=False,
                   route_overridden=False, route_note="", police_officer="", agreement_summary="",
                   end_reason_code="", end_reason="", reopen_count=0)
        if r < 0.8:
            row.update(status="settled", settled_at=rec + dt.timedelta(hours=rng.choice([1, 5, 30, 100, 200, 500])),
                       settled_level=rng.choice(["onsite", "station_room", "village_room", "township", "city"]))
            if rng.random() < 0.7:
                row.update(status="closed", followed_up_at=row["settled_at"] + dt.timedelta(days=rng.randrange(1, 9)),
                           satisfaction=rng.choice(["satisfied", "satisfied", "basic", "dissatisfied"]))
        elif r < 0.9:
            row.update(status=rng.choice(["litigation", "terminated"]),
                       ended_at=rec + dt.timedelta(hours=rng.randrange(1, 400)))
            if row["status"] == "litigation":
                row["court_name"] = "丰城市人民法院"
        rows.append(row)
    session.execute(insert(Case), rows)
    fu = [{"case_id": r.id, "done_at": r.followed_up_at, "method": "phone", "by_name": "专班",
           "agreement_holds": r.satisfaction != "dissatisfied", "satisfaction": r.satisfaction, "note": ""}
          for r in session.execute(select(Case.id, Case.followed_up_at, Case.satisfaction)
                                   .where(Case.followed_up_at.isnot(None)))]
    session.execute(insert(FollowUp), fu)
    session.flush()


WIDE = Period(dt.date(2023, 5, 1), dt.date(2023, 10, 31))
PERIODS = [JULY, AUGUST, Period(dt.date(2023, 6, 10), dt.date(2023, 8, 20)), Period(dt.date(2023, 7, 31), dt.date(2023, 7, 31)),
           WIDE]


def test_rollup_equals_raw_figures_on_random_data_and_after_changes(session):
    rng = random.Random(7)
    _random_cases(session, 400, rng)
    dashboard.mark_full_refresh(session)
    town = session.scalar(select(Township.id).order_by(Township.code))
    scopes = [Scope(), Scope("township", town)]
    for p in PERIODS:
        for sc in scopes:
            assert dashboard.totals(session, p, sc) == dashboard.raw_totals(session, p, sc), (p, sc)
    # change some cases the way the workflow does: reopen a settled case (its old settlement day
    # is in its events), settle an open one today-ish, guide one to court
    settled = list(session.scalars(select(Case).where(Case.settled_at.isnot(None)).limit(5)))
    for c in settled:
        session.add(CaseEvent(case_id=c.id, at=c.settled_at, action="settle", username="t", role="staff"))
        c.settled_at, c.settled_level, c.status = None, None, "mediating"
        c.followed_up_at, c.satisfaction = None, None
        c.updated_at = clock.now()
    open_one = session.scalar(select(Case).where(Case.status == "registered").limit(1))
    open_one.status, open_one.settled_at, open_one.settled_level = "settled", L(2023, 7, 31, 23, 59, 59), "onsite"
    open_one.updated_at = clock.now()
    session.flush()
    assert dashboard.totals(session, WIDE) != dashboard.raw_totals(session, WIDE)  # stale before refresh
    dashboard.refresh_dirty(session)
    for p in PERIODS:
        for sc in scopes:
            assert dashboard.totals(session, p, sc) == dashboard.raw_totals(session, p, sc), (p, sc)
    # the weekly and category series add up to the raw count too
    raw_received = dashboard.raw_totals(session, PERIODS[2])["received"]
    assert sum(w["received"] for w in dashboard.weekly(session, PERIODS[2])) == raw_received
    assert sum(c["received"] for c in dashboard.by_category(session, PERIODS[2])) == raw_received
    assert sum(s["received"] for s in dashboard.by_source(session, PERIODS[2])) == raw_received
    n_rows = session.scalar(select(func.count()).select_from(CaseDayStat))
    dashboard.refresh_rollup(session)  # a full rebuild gives the same rows
    assert session.scalar(select(func.count()).select_from(CaseDayStat)) == n_rows


def test_export_carries_period_and_scope_in_name_and_refuses_personal_data():
    import io

    import openpyxl
    exp = dashboard.export_xlsx("驾驶舱_乡镇", JULY, "全市", ["乡镇", "案件数"], [["剑南街道", 12], ["河洲街道", 3]])
    assert exp.filename == "驾驶舱_乡镇_全市_2023-07-01_2023-07-31.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(exp.data)).active
    assert ws["A2"].value == "乡镇" and ws["B3"].value == 12
    from services.errors import DomainError
    with pytest.raises(DomainError, match="手机号或身份证号"):
        dashboard.export_xlsx("x", JULY, "全市", ["a"], [["联系 13912345678"]])


def test_periods_split_into_whole_months_and_edge_days():
    d = dt.date
    assert dashboard.split_months(Period(d(2023, 7, 1), d(2023, 12, 8))) == (
        [d(2023, 7, 1), d(2023, 8, 1), d(2023, 9, 1), d(2023, 10, 1), d(2023, 11, 1)], [(d(2023, 12, 1), d(2023, 12, 8))])
    assert dashboard.split_months(Period(d(2023, 6, 10), d(2023, 8, 20))) == (
        [d(2023, 7, 1)], [(d(2023, 6, 10), d(2023, 6, 30)), (d(2023, 8, 1), d(2023, 8, 20))])
    assert dashboard.split_months(Period(d(2023, 7, 5), d(2023, 7, 31))) == ([], [(d(2023, 7, 5), d(2023, 7, 31))])
    assert dashboard.split_months(Period(d(2024, 2, 1), d(2024, 2, 29))) == ([d(2024, 2, 1)], [])
    assert Period(d(2023, 7, 1), d(2023, 7, 31)).previous() == Period(d(2023, 5, 31), d(2023, 6, 30), "上一期")


def test_two_leaders_opening_the_dashboard_at_once_both_get_the_figures(db_url, engine):
    """On a new installation (no rollup yet) two dashboards open at the same moment: one rebuilds the
    rollup, the other waits for it (an advisory lock on PostgreSQL, the writer lock on SQLite) and
    does not rebuild it again; both show July."""
    import threading
    from db.engine import session_scope
    with session_scope(engine) as s:
        a, _, cats = org(s)
        for day in range(1, 6):
            make_case(s, a, L(2023, 7, day, 10), category_id=cats[0])
    forget_settings(db_url)
    barrier, results, refreshed, errors = threading.Barrier(2), [], [], []

    def leader():
        try:
            barrier.wait(10)
            with session_scope(engine) as s:
                refreshed.append(dashboard.ensure_fresh(s))
                results.append(dashboard.totals(s, JULY)["received"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=leader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and results == [5, 5]
    assert sorted(refreshed) == [False, True]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Setting).where(Setting.key == dashboard.ROLLUP_STATE_KEY)) == 1
