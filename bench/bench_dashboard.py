"""Benchmark: the leaders' dashboard and the case list at a province's scale, on PostgreSQL.

    .venv/bin/python bench/bench_dashboard.py                     # 1,000,000 cases over five years
    .venv/bin/python bench/bench_dashboard.py --cases 200000      # a smaller run first
    .venv/bin/python bench/bench_dashboard.py --reuse             # measure again without regenerating

Creates (or reuses) the database `mujiu_bench_<N>` on the server of TEST_PG_ADMIN_URL, migrates it,
loads the organisation fixture, COPYs N cases (+ parties, follow-ups) spread over the years, builds
the rollup, then reports side by side:

  (a) the dashboard's figures for one year at city scope as services.metrics.dashboard computes them
  (b) the same figures straight from the raw case rows by plain SQL
  (c) the naive way: that year's rows into pandas, then groupby
  (d) one AppTest run of the dashboard page against that database
  (e) the case list: page 1 with its count, a deep page (OFFSET and keyset), search by number / mobile
  (f) repeat disputes: a case's earlier cases, a typed mobile's, the task force's 3-in-90-days list

Figures and the command are recorded in docs/dashboard.md. Nothing here is a test: timings vary.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("APP_MODE", "production")

import psycopg  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from db.engine import get_engine, session_scope  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import MediationRoom, Township, Village  # noqa: E402
from services import clock
from services.metrics import dashboard
from services.roster import org
from services.metrics.dashboard import Period, Scope  # noqa: E402

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CASE_COLS = ["id", "number", "source", "police_officer", "received_at", "township_id", "village_id", "address",
             "category_id", "complexity", "description", "mode", "room_id", "after_hours", "route_overridden",
             "route_note", "level", "status", "level_entered_at", "level_due_at", "first_notified_at",
             "arrival_due_at", "first_arrival_at", "settled_at", "settled_level", "agreement_summary", "ended_at",
             "end_reason_code", "end_reason", "court_name", "follow_up_due_at", "followed_up_at", "satisfaction",
             "closed_at", "reopen_count", "created_at", "updated_at", "version"]
PARTY_COLS = ["case_id", "name", "role", "mobile", "id_card", "address"]
FU_COLS = ["case_id", "done_at", "method", "by_name", "agreement_holds", "satisfaction", "note"]
SOURCES = (["110"] * 55 + ["12345"] * 25 + ["grid"] * 9 + ["walk_in"] * 7 + ["self"] * 4)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗"


def _url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(name: str, reuse: bool) -> tuple[str, bool]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.scalar(text("select 1 from pg_database where datname = :n"), {"n": name})
        if exists and reuse:
            return _url(name), False
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _url(name), True


# ------------------------------------------------------------------ data generation
def generate(url: str, n: int, years: int, end: dt.datetime, seed: int = 6) -> None:
    rng = random.Random(seed)
    with session_scope(get_engine(url)) as s:
        towns = list(s.scalars(select(Township).order_by(Township.id)))
        villages: dict[int, list[int]] = {}
        for v in s.scalars(select(Village)):
            villages.setdefault(v.township_id, []).append(v.id)
        station_room = {r.police_station_id: r.id for r in s.scalars(select(MediationRoom).where(MediationRoom.kind == "station"))}
        village_rooms: dict[int, list[int]] = {}
        for r in s.scalars(select(MediationRoom).where(MediationRoom.kind == "village")):
            village_rooms.setdefault(r.township_id, []).append(r.id)
        cats = [c for (c,) in s.execute(text("select id from dispute_category order by sort_order, id"))]
    town_w = [rng.uniform(0.5, 2.0) for _ in towns]
    start = end - dt.timedelta(days=365 * years)
    span = (end - start).total_seconds()
    times = sorted(rng.random() * span for _ in range(n))
    mobiles = [f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" for _ in range(int(n * 0.9))]
    t0 = time.perf_counter()
    with psycopg.connect(_dsn(url)) as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            batch = 100_000
            for lo in range(0, n, batch):
                cases, parties, fus = [], [], []
                for i in range(lo, min(n, lo + batch)):
                    cases.append(_case(rng, i + 1, start + dt.timedelta(seconds=times[i]), end, towns, town_w,
                                       villages, station_room, village_rooms, cats, parties, fus, mobiles))
                with cur.copy(f"COPY dispute_case ({', '.join(CASE_COLS)}) FROM STDIN") as cp:
                    for row in cases:
                        cp.write_row(row)
                with cur.copy(f"COPY party ({', '.join(PARTY_COLS)}) FROM STDIN") as cp:
                    for row in parties:
                        cp.write_row(row)
                with cur.copy(f"COPY follow_up ({', '.join(FU_COLS)}) FROM STDIN") as cp:
                    for row in fus:
                        cp.write_row(row)
                conn.commit()
                print(f"  {min(n, lo + batch):,} cases written ({time.perf_counter() - t0:.0f} s)", flush=True)
            cur.execute("SELECT setval(pg_get_serial_sequence('dispute_case', 'id'), (SELECT max(id) FROM dispute_case))")
            conn.commit()
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _case(rng, cid, received, end, towns, town_w, villages, station_room, village_rooms, cats, parties, fus, mobiles):
    t = rng.choices(towns, town_w)[0]
    vrooms = village_rooms.get(t.id) or []
    mode = "village" if t.mode == "village" and vrooms else "station"
    room = rng.choice(vrooms) if mode == "village" else station_room.get(t.police_station_id)
    source = rng.choice(SOURCES)
    age_days = (end - received).total_seconds() / 86400
    notified = received + dt.timedelta(minutes=3) if rng.random() < 0.95 else None
    arrival_due = notified + dt.timedelta(minutes=15) if notified else None
    arrived = notified + dt.timedelta(minutes=rng.choice([4, 6, 8, 10, 12, 14, 18, 25])) if notified else None
    level, status = "onsite", "registered"
    settled = settled_level = ended = followed = satisfaction = closed = due = fu_due = None
    court = ""
    if age_days > 30 or rng.random() < age_days / 30:
        r = rng.random()
        ladder = ("onsite", "station_room", "city") if mode == "station" else ("onsite", "village_room", "township", "city")
        if r < 0.97:
            settled_level = rng.choices(ladder, [40, 50, 7, 3][:len(ladder)])[0]
            settled = received + dt.timedelta(hours=rng.choice([1, 2, 4, 20, 50, 100, 200, 400]) * rng.uniform(0.5, 1.5))
            level, status = settled_level, "settled"
            if settled < end:
                fu_due = settled + dt.timedelta(days=7)
                done = settled + dt.timedelta(days=rng.uniform(0.5, 7))
                if done < end:
                    followed = done
                    satisfaction = rng.choices(["satisfied", "basic", "dissatisfied"], [90, 9, 1])[0]
                    if satisfaction != "dissatisfied":
                        status, closed = "closed", done
            else:
                settled = settled_level = None
                level, status = "onsite", "mediating"
        else:
            ended = received + dt.timedelta(days=rng.uniform(1, 30))
            if ended >= end:
                ended = None
                status = "mediating"
            elif r < 0.985:
                status, level = "terminated", "onsite"
            else:
                status, level, court = "litigation", "court", "丰城市人民法院"
    if status in ("registered", "mediating"):
        due = received + dt.timedelta(days=rng.choice([0.5, 3, 7, 15]))
    updated = max(x for x in (received, arrived, settled, ended, followed) if x is not None)
    updated = min(updated, end)
    number = f"丰-{clock.local(received).year}-{cid:07d}"
    for k in range(rng.choice((1, 1, 2))):
        parties.append((cid, rng.choice(SURNAMES) + "某", "applicant" if k == 0 else "respondent",
                        rng.choice(mobiles), None, f"{t.name}{rng.randrange(1, 40)}组{rng.randrange(1, 200)}号"))
    if followed is not None:
        fus.append((cid, followed, "phone", "专班", satisfaction != "dissatisfied", satisfaction, ""))
    return (cid, number, source, "", received, t.id, rng.choice(villages[t.id]) if villages.get(t.id) else None, "",
            rng.choice(cats), "simple", "基准测试案件", mode, room, False, False, "", level, status, received, due,
            notified, arrival_due, arrived, settled, settled_level, "", ended, "", "", court, fu_due, followed,
            satisfaction, closed, 0, received, updated, 1)


# ------------------------------------------------------------------ measurements
def timed(fn, repeat: int = 7) -> tuple[float, float, object]:
    """(first run ms, median of the next runs ms, result)."""
    t = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - t) * 1000
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(runs) if runs else first, result


def portal_figures(url: str, period: Period, scope: Scope = Scope()) -> dict:
    """What pages/dashboard.py computes on a cache miss (repeat calls are on demand, timed apart)."""
    with session_scope(get_engine(url)) as s:
        t = dashboard.totals(s, period, scope)
        return {"tiles": dashboard.headline(s, period, scope), "weekly": dashboard.weekly(s, period, scope),
                "source": dashboard.by_source(s, period, scope), "category": dashboard.by_category(s, period, scope),
                "mode": dashboard.by_mode(s, period, scope), "township": dashboard.by_township(s, period, scope),
                "heat": dashboard.heat(s, period, scope), "funnel": dashboard.funnel(t), "totals": t,
                "police": dashboard.police_side(s, period, scope, t)}


def raw_figures(url: str, period: Period) -> dict:
    """The same figures by plain SQL on dispute_case / follow_up (no rollup)."""
    lo, hi = period.utc_bounds()
    p = {"lo": lo, "hi": hi}
    day = "(received_at AT TIME ZONE 'Asia/Shanghai')::date"
    with session_scope(get_engine(url)) as s:
        t = dashboard.raw_totals(s, period)
        prev = dashboard.raw_totals(s, period.previous())
        q = lambda sql: s.execute(text(sql), p).all()  # noqa: E731
        where = "received_at >= :lo AND received_at < :hi"
        out = {
            "totals": t, "prev": prev,
            "open": q("SELECT count(*), count(*) FILTER (WHERE level_due_at < now()) FROM dispute_case "
                      "WHERE status IN ('registered', 'mediating')"),
            "weekly": q(f"SELECT date_trunc('week', {day}) w, count(*) FROM dispute_case WHERE {where} GROUP BY w"),
            "source": q(f"SELECT source, count(*) FROM dispute_case WHERE {where} GROUP BY source"),
            "mode": q(f"SELECT mode, count(*), count(settled_at) FROM dispute_case WHERE {where} GROUP BY mode"),
            "township_category": q(f"SELECT township_id, category_id, count(*) FROM dispute_case WHERE {where} "
                                   "GROUP BY township_id, category_id"),
        }
    return out


NAIVE_SQL = """SELECT received_at, settled_at, ended_at, followed_up_at, source, township_id, category_id, mode,
  settled_level, court_name, first_notified_at, first_arrival_at, arrival_due_at, satisfaction, status, level_due_at
FROM dispute_case WHERE (received_at >= %(lo)s AND received_at < %(hi)s) OR (settled_at >= %(lo)s AND settled_at < %(hi)s)
  OR (ended_at >= %(lo)s AND ended_at < %(hi)s)"""


def naive_figures(url: str, period: Period) -> dict:
    """The slow way: the year's rows into pandas, then groupby (what the portal never does)."""
    import pandas as pd
    lo, hi = period.utc_bounds()
    with psycopg.connect(_dsn(url)) as conn:
        df = pd.read_sql(NAIVE_SQL, conn, params={"lo": lo, "hi": hi})
        fu = pd.read_sql("SELECT done_at, satisfaction FROM follow_up WHERE done_at >= %(lo)s AND done_at < %(hi)s",
                         conn, params={"lo": lo, "hi": hi})
    rec = df[(df.received_at >= lo) & (df.received_at < hi)]
    st = df[(df.settled_at >= lo) & (df.settled_at < hi)]
    en = df[(df.ended_at >= lo) & (df.ended_at < hi) & df.settled_at.isna()]
    local = rec.received_at.dt.tz_convert("Asia/Shanghai")
    return {
        "received": len(rec), "settled": len(st), "failed": len(en),
        "followed": len(fu), "satisfied": int(fu.satisfaction.isin(["satisfied", "basic"]).sum()),
        "quick": int((rec.first_arrival_at <= rec.arrival_due_at).sum()),
        "weekly": rec.groupby(local.dt.to_period("W")).size(),
        "source": rec.groupby("source").size(), "category": rec.groupby("category_id").size(),
        "heat": rec.groupby(["township_id", "category_id"]).size(), "mode": rec.groupby("mode").size(),
        "funnel": st.groupby("settled_level").size(),
    }


def apptest_run(url: str) -> tuple[float, float]:
    """Open the dashboard as a leader (first render), then switch to this year's figures (cache cold)."""
    os.environ["DATABASE_URL"] = url
    from tests.ui import app_as, by_key
    t = time.perf_counter()
    at = app_as(url, "leader", "pages/dashboard.py")
    first = (time.perf_counter() - t) * 1000
    assert not at.exception, at.exception
    t = time.perf_counter()
    by_key(at.selectbox, "dash_preset").set_value("year").run()
    year_run = (time.perf_counter() - t) * 1000
    assert not at.exception, at.exception
    return first, year_run


def case_list(url: str) -> dict[str, tuple[float, float, float | None]]:
    """The case list through `case_queries.list_cases` itself: label -> (first, median, target ms)."""
    from services.cases import case_queries
    from services.roles import STAFF, Actor
    staff = Actor(user_id=None, username="bench", role=STAFF)
    eng = get_engine(url)
    with eng.connect() as c:
        number, mobile = c.execute(text(
            "SELECT c.number, p.mobile FROM dispute_case c JOIN party p ON p.case_id = c.id "
            "WHERE c.id = (SELECT max(id) / 3 FROM dispute_case) LIMIT 1")).one()
        town = c.scalar(text("SELECT township_id FROM dispute_case GROUP BY township_id ORDER BY count(*) DESC LIMIT 1"))
    with session_scope(eng) as s:  # the token of page 100 (50 a page), reached as a user would by 下一页
        after = None
        for _ in range(99):
            after = case_queries.list_cases(s, staff, after=after, page_size=50).next
        some_day = case_queries.list_cases(s, staff, after=after, page_size=50).rows[0]["received_at"]
    out = {}

    def portal(f=None, **kw):
        def go():
            with session_scope(eng) as s:
                return case_queries.list_cases(s, staff, case_queries.CaseFilters(**(f or {})), page_size=50, **kw)
        return go

    first = portal()()
    count = f"约 {first.total:,}, estimated" if first.estimated else f"{first.total:,}, exact"
    out[f"page 1 + count, whole city (list_cases; {count})"] = timed(portal())[:2] + (20,)
    out["page 1 + count, largest township (list_cases)"] = timed(portal({"township_id": town}))[:2] + (20,)
    # as the screen asks for it: by keyset, the count kept from page 1 (components/lists.py)
    out["page 100 by keyset (list_cases, after = page 99's next, no recount)"] = \
        timed(portal(after=after, count=False))[:2] + (10,)
    jump = case_queries.after_date(clock.local(some_day).date())
    # a jump is a first page (it counts): the first page's target
    out["jump to a received date (list_cases, with its count)"] = timed(portal(after=jump))[:2] + (20,)
    out["search mobile (list_cases)"] = timed(portal({"search": mobile}))[:2] + (30,)
    out["search exact case number (list_cases)"] = timed(portal({"search": number}))[:2] + (30,)
    out["search part of a number (list_cases, ids first over pg_trgm)"] = \
        timed(portal({"search": number[-9:]}))[:2] + (30,)
    return out


def repeat_lookups(url: str) -> dict[str, tuple[float, float]]:
    """Repeat disputes (services.cases.repeats): one case's earlier cases (target ≤ 20 ms at 1M),
    the same for a draft's typed mobile, and the task force's 3-in-90-days list."""
    from services.cases import repeats
    from services.roles import STAFF, TASKFORCE, Actor
    from sqlalchemy import func
    from db.models import Case, Party
    staff = Actor(user_id=None, username="bench", role=STAFF)
    eng = get_engine(url)
    with session_scope(eng) as s:  # a case near the end, received within the last year
        cid = s.scalar(select(func.max(Case.id))) - 1000
        mobile = s.scalar(select(Party.mobile).where(Party.case_id == cid).limit(1))

    def run(fn, *args):
        def go():
            with session_scope(eng) as s:
                return fn(s, *args)
        return go
    return {"earlier cases of a case (repeats.earlier_for_case)": timed(run(repeats.earlier_for_case, staff, cid))[:2],
            "earlier cases of a typed mobile (repeats.earlier_for_draft)":
                timed(run(repeats.earlier_for_draft, staff, [mobile]))[:2],
            "3 in 90 days list (repeats.alerts)":
                timed(run(repeats.alerts, Actor(user_id=None, username="b", role=TASKFORCE)), repeat=2)[:2]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="reuse the database if it exists")
    ap.add_argument("--skip-apptest", action="store_true")
    args = ap.parse_args()
    name = f"mujiu_bench_{args.cases}"
    url, fresh = create_database(name, args.reuse)
    if not fresh:
        upgrade(url)  # a database from an earlier run: bring it to the current schema
    end = clock.now().replace(microsecond=0)
    print(f"database {name}: {'new' if fresh else 'reused'}")
    if fresh:
        t = time.perf_counter()
        upgrade(url)
        with session_scope(get_engine(url)) as s:
            org.load_org(s, org.read_org_file())
        generate(url, args.cases, args.years, end)
        print(f"generated {args.cases:,} cases in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        with session_scope(get_engine(url)) as s:
            dashboard.mark_full_refresh(s)
        print(f"full rollup refresh: {time.perf_counter() - t:.1f} s")
    with get_engine(url).connect() as c:
        n = c.scalar(text("SELECT count(*) FROM dispute_case"))
        rollup_rows = c.scalar(text("SELECT count(*) FROM case_day_stat")) + c.scalar(text("SELECT count(*) FROM case_day_mix"))
        jit = c.scalar(text("SHOW jit"))
    today = clock.local(end).date()
    year = Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31), "上一年")
    with session_scope(get_engine(url)) as s:
        in_year = dashboard.raw_totals(s, year)["received"]
        t = time.perf_counter()
        days = dashboard.refresh_dirty(s)
        dirty_ms = (time.perf_counter() - t) * 1000
    print(f"\n{n:,} cases; year {year.text}: {in_year:,} received; rollup rows {rollup_rows:,}; jit={jit}")
    print(f"incremental rollup refresh ({days} day(s) touched since the last refresh): {dirty_ms:.0f} ms\n")

    a_first, a_med, a = timed(lambda: portal_figures(url, year))
    b_first, b_med, b = timed(lambda: raw_figures(url, year), repeat=3)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c_first, c_med, c = timed(lambda: naive_figures(url, year), repeat=1)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    same = (a["totals"] == b["totals"] and a["totals"]["received"] == c["received"]
            and a["totals"]["settled"] == c["settled"] and a["totals"]["satisfied"] == c["satisfied"])
    r_first, r_med, _ = timed(lambda: _repeat(url, year), repeat=2)

    rows = [("(a) portal: services.metrics.dashboard from the rollup", a_first, a_med),
            ("(b) plain SQL on the raw rows", b_first, b_med),
            (f"(c) naive: rows into pandas + groupby (max RSS +{(rss1 - rss0) / 1024:.0f} MB)", c_first, c_med),
            ("    repeat calls (on demand, raw window functions)", r_first, r_med)]
    if not args.skip_apptest:
        d_first, d_year = apptest_run(url)
        rows.append(("(d) AppTest: first render (article period)", d_first, d_first))
        rows.append(("(d) AppTest: switch to this year (cache cold)", d_year, d_year))
    targets = {}
    for label, (first, med, target) in case_list(url).items():
        rows.append((f"(e) {label}", first, med))
        targets[f"(e) {label}"] = target
    for label, (first, med) in repeat_lookups(url).items():
        rows.append((f"(f) {label}", first, med))
        targets[f"(f) {label}"] = 20 if "alert" not in label else None
    print(f"{'measurement':70s} {'first ms':>10s} {'median ms':>10s} {'target':>10s}")
    for label, first, med in rows:
        target = targets.get(label)
        verdict = f"≤ {target:g} {'✓' if med <= target else '✗'}" if target else ""
        print(f"{label:70s} {first:10.1f} {med:10.1f} {verdict:>10s}")
    print(f"\n(a) vs (c): {c_med / a_med:.0f}× faster; (a) = (b) = (c) on the headline counts: {'yes' if same else 'NO'}")


def _repeat(url: str, period: Period):
    with session_scope(get_engine(url)) as s:
        return dashboard.repeat_calls(s, period)


if __name__ == "__main__":
    main()
