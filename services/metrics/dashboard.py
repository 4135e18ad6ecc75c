"""The leaders' dashboard figures (领导驾驶舱): headline tiles, series, police-side figures.

Every figure is computed by the database (GROUP BY / conditional SUM); no case rows are loaded.
Periods are Beijing-time dates; a case settled at 23:59:59 local on the period's last day counts
in that period, one settled at 00:00:00 the next day does not.

Each count is anchored on its own event (docs/dashboard.md explains every figure):

    received   cases received in the period (非警务警情 handled)            anchor received_at
    from110    ... of which from a 110 call                                  received_at
    notified   ... of which someone was dispatched (arrival clock ran)       received_at
    quick      ... of which the first person arrived by the due time         received_at
    settled    cases settled (调解成功) in the period                         settled_at
    settled_*  ... by the ladder level they were settled at                  settled_at
    settle_dN  ... by time from receipt to settlement (<1, 1-3, 3-7, 7-15, ≥15 days)
    settled_followed  ... of which already followed up                       settled_at
    failed     cases ended unsettled (guided to court or terminated)         ended_at
    litigated  ... of which guided to the courts                             ended_at
    followed   follow-ups recorded (every answer, also those that reopened   FollowUp.done_at
               a case: the follow_up table keeps them all)
    satisfied  ... of which 满意 or 基本满意                                    FollowUp.done_at

success rate = settled ÷ (settled + failed); satisfaction = satisfied ÷ followed;
quick response = quick ÷ notified; follow-up completion = settled_followed ÷ settled.

The dashboard reads the rollup tables (case_day_stat, case_day_mix: one row per local day ×
township × mode, and per day × township × category/source). `refresh_rollup` rebuilds days from
the case rows with the same definitions as `raw_totals`; after a refresh both give equal figures.
"""
from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date as DATE
from sqlalchemy import String as STRING
from sqlalchemy import and_, case, cast, delete, func, insert, literal, literal_column, or_, select, text, union_all
from sqlalchemy.orm import Session

from db.models import (Case, CaseDayMix, CaseDayStat, CaseEvent, CaseMonthMix, CaseMonthStat, DisputeCategory, FollowUp, Party,
                       PoliceCallTotal, PoliceStation, Township)
from services.cases import intake as case_service
from services import clock, settings
from services.cases import ladder
from services.errors import DomainError
from services.exports import NUMBER_FORMATS, file_cell, safe_cell, safe_row
from services.redact import contains_personal_number

ARTICLE_PERIOD = (dt.date(2023, 7, 1), dt.date(2023, 12, 8))
POLICE_MINUTES_KEY = "police_minutes_per_case"
POLICE_MINUTES_DEFAULT = {"before": 60, "after": 20}
ROLLUP_STATE_KEY = "metrics_rollup_state"
REPEAT_WINDOW_DAYS = 30
OPEN_STATUSES = ladder.statuses_in(ladder.OPEN)
SETTLE_BUCKETS = {"settle_d0": "不足1天", "settle_d1": "1–3天", "settle_d3": "3–7天", "settle_d7": "7–15天",
                  "settle_d15": "15天及以上"}
FUNNEL = {"settled_onsite": "现场调解", "settled_room": "调解室（驻所/住村）", "settled_township": "乡镇综治中心",
          "settled_city": "市综治中心", "litigated": "引导司法程序"}


# ------------------------------------------------------------------ period and scope
@dataclass(frozen=True)
class Period:
    """A range of Beijing-time dates, both ends included."""

    start: dt.date
    end: dt.date
    label: str = ""

    def __post_init__(self):
        if self.end < self.start:
            raise DomainError("统计期的结束日期不能早于开始日期。")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC: local midnight of the first day to local midnight after the last."""
        lo = dt.datetime.combine(self.start, dt.time(), clock.LOCAL_TZ).astimezone(clock.UTC)
        hi = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), clock.LOCAL_TZ).astimezone(clock.UTC)
        return lo, hi

    def previous(self) -> "Period":
        """The period of equal length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, "上一期")

    @property
    def text(self) -> str:
        return f"{self.start.isoformat()}—{self.end.isoformat()}"

    @classmethod
    def month(cls, day: dt.date) -> "Period":
        last = calendar.monthrange(day.year, day.month)[1]
        return cls(day.replace(day=1), day.replace(day=last), f"{day.year}年{day.month}月")

    @classmethod
    def quarter(cls, day: dt.date) -> "Period":
        q = (day.month - 1) // 3
        start = dt.date(day.year, 3 * q + 1, 1)
        end_month = 3 * q + 3
        return cls(start, dt.date(day.year, end_month, calendar.monthrange(day.year, end_month)[1]),
                   f"{day.year}年第{q + 1}季度")

    @classmethod
    def year(cls, day: dt.date) -> "Period":
        return cls(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31), f"{day.year}年")

    @classmethod
    def article(cls) -> "Period":
        return cls(*ARTICLE_PERIOD, "文章统计期")


@dataclass(frozen=True)
class Scope:
    """city (全市), one township, or the townships a police station covers."""

    kind: str = "city"
    id: int | None = None

    def township_ids(self, session: Session) -> list[int] | None:
        if self.kind == "township":
            return [self.id]
        if self.kind == "station":
            return list(session.scalars(select(Township.id).where(Township.police_station_id == self.id)))
        return None

    def name(self, session: Session) -> str:
        if self.kind == "township":
            return session.scalar(select(Township.name).where(Township.id == self.id)) or "未知乡镇"
        if self.kind == "station":
            return session.scalar(select(PoliceStation.name).where(PoliceStation.id == self.id)) or "未知派出所"
        return "全市"


def scope_options(session: Session) -> dict[str, list[tuple[int, str]]]:
    from services import refdata  # reference data: this process's copy
    return {"township": [(t.id, t.name) for t in refdata.townships(session)],
            "station": refdata.police_stations(session)}


# ------------------------------------------------------------------ dialect helpers
def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def local_day(col, dialect: str):
    """The Beijing-time date of a UTC timestamp column (China has no daylight saving time)."""
    if dialect == "postgresql":
        return cast(func.timezone(clock.LOCAL_TZ.key, col), DATE)
    return func.date(col, "+8 hours")


def week_start(day_expr, dialect: str):
    """Monday of the week of a date expression."""
    if dialect == "postgresql":
        return cast(func.date_trunc("week", day_expr), DATE)
    return func.date(day_expr, "weekday 0", "-6 days")


def days_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def minus_days(col, days: int, dialect: str):
    if dialect == "postgresql":
        return col - literal_column(f"interval '{int(days)} days'")
    return func.datetime(col, f"-{int(days)} days")


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# ------------------------------------------------------------------ measure definitions
ANCHORS = {"received": Case.received_at, "settled": Case.settled_at, "ended": Case.ended_at}
FOLLOW_UP_ANCHOR = "followup"  # measures counted on follow_up rows (joined to their case)


def _measures(dialect: str) -> dict[str, tuple[str, object]]:
    """measure -> (anchor, extra condition or None). The single source of every figure."""
    dur = days_between(Case.settled_at, Case.received_at, dialect)
    return {
        "received": ("received", None),
        "from110": ("received", Case.source == "110"),
        "notified": ("received", Case.first_notified_at.isnot(None)),
        "quick": ("received", Case.first_arrival_at <= Case.arrival_due_at),
        "settled": ("settled", None),
        "settled_onsite": ("settled", Case.settled_level == "onsite"),
        "settled_room": ("settled", Case.settled_level.in_(("station_room", "village_room"))),
        "settled_township": ("settled", Case.settled_level == "township"),
        "settled_city": ("settled", Case.settled_level == "city"),
        "settle_d0": ("settled", dur < 1),
        "settle_d1": ("settled", and_(dur >= 1, dur < 3)),
        "settle_d3": ("settled", and_(dur >= 3, dur < 7)),
        "settle_d7": ("settled", and_(dur >= 7, dur < 15)),
        "settle_d15": ("settled", dur >= 15),
        "settled_followed": ("settled", Case.followed_up_at.isnot(None)),
        "failed": ("ended", Case.settled_at.is_(None)),
        "litigated": ("ended", and_(Case.settled_at.is_(None), Case.court_name != "")),
        "followed": (FOLLOW_UP_ANCHOR, None),
        "satisfied": (FOLLOW_UP_ANCHOR, FollowUp.satisfaction.in_(("satisfied", "basic"))),
    }


MEASURE_NAMES = ["received", "from110", "notified", "quick", "settled", "settled_onsite", "settled_room",
                 "settled_township", "settled_city", "settle_d0", "settle_d1", "settle_d3", "settle_d7",
                 "settle_d15", "settled_followed", "failed", "litigated", "followed", "satisfied"]


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


# ------------------------------------------------------------------ raw figures (plain SQL, one pass)
def raw_totals(session: Session, period: Period, scope: Scope = Scope(), group_by=None,
               extra_where=None) -> dict | list:
    """All measures for a period straight from the case rows: one pass over the cases with an
    event in the period, plus one over the period's follow-ups.

    group_by: optional list of labelled SQL expressions on the case (e.g. Case.room_id); then a
    list of dicts, one per group, is returned instead of one dict.
    """
    dialect = _dialect(session)
    lo, hi = period.utc_bounds()
    in_period = {a: and_(col >= lo, col < hi) for a, col in ANCHORS.items()}
    case_cols, fu_cols = [], []
    for name, (anchor, cond) in _measures(dialect).items():
        if anchor == FOLLOW_UP_ANCHOR:
            fu_cols.append((func.count() if cond is None else _count_if(cond)).label(name))
            continue
        c = in_period[anchor] if cond is None else and_(in_period[anchor], cond)
        case_cols.append(_count_if(c).label(name))
    group_by = list(group_by or [])
    conds = []
    tids = scope.township_ids(session)
    if tids is not None:
        conds.append(Case.township_id.in_(tids))
    if extra_where is not None:
        conds.append(extra_where)
    q1 = select(*group_by, *case_cols).where(or_(*in_period.values()), *conds)
    q2 = select(*group_by, *fu_cols).select_from(FollowUp).join(Case, Case.id == FollowUp.case_id) \
        .where(FollowUp.done_at >= lo, FollowUp.done_at < hi, *conds)
    if not group_by:
        out = {k: int(v or 0) for k, v in session.execute(q1).one()._mapping.items()}
        out.update({k: int(v or 0) for k, v in session.execute(q2).one()._mapping.items()})
        return {n: out[n] for n in MEASURE_NAMES}
    keys = [g.name for g in group_by]
    merged: dict[tuple, dict] = {}
    for q in (q1.group_by(*group_by), q2.group_by(*group_by)):
        for r in session.execute(q):
            m = r._mapping
            row = merged.setdefault(tuple(m[k] for k in keys), {**{k: m[k] for k in keys},
                                                                **{n: 0 for n in MEASURE_NAMES}})
            row.update({k: int(v or 0) for k, v in m.items() if k not in keys})
    return list(merged.values())


# ------------------------------------------------------------------ rollup
def _rollup_select(dialect: str, ranges: list[tuple[dt.datetime, dt.datetime]] | None):
    """SELECT day, township_id, mode, <measures> rebuilt from the case rows (optionally only
    the events falling in the given UTC ranges)."""
    measures = _measures(dialect)
    parts = []
    for anchor, col in [*ANCHORS.items(), (FOLLOW_UP_ANCHOR, FollowUp.done_at)]:
        day = local_day(col, dialect).label("day")
        cols = []
        for name in MEASURE_NAMES:
            m_anchor, cond = measures[name]
            if m_anchor != anchor:
                cols.append(literal(0).label(name))
            else:
                cols.append((func.count() if cond is None else _count_if(cond)).label(name))
        q = select(day, Case.township_id, Case.mode, *cols).where(col.isnot(None))
        if anchor == FOLLOW_UP_ANCHOR:
            q = q.select_from(FollowUp).join(Case, Case.id == FollowUp.case_id)
        if ranges is not None:
            q = q.where(or_(*(and_(col >= lo, col < hi) for lo, hi in ranges)))
        parts.append(q.group_by(day, Case.township_id, Case.mode))
    u = union_all(*parts).subquery("u")
    return select(u.c.day, u.c.township_id, u.c.mode, *(func.sum(u.c[n]).label(n) for n in MEASURE_NAMES)) \
        .group_by(u.c.day, u.c.township_id, u.c.mode)


def _mix_select(dialect: str, ranges):
    day = local_day(Case.received_at, dialect).label("day")
    out = []
    for dim, keycol in (("category", cast(Case.category_id, STRING)), ("source", Case.source)):
        q = select(day, Case.township_id, literal(dim).label("dim"), keycol.label("key"),
                   func.count().label("received"))
        if ranges is not None:
            q = q.where(or_(*(and_(Case.received_at >= lo, Case.received_at < hi) for lo, hi in ranges)))
        out.append(q.group_by(day, Case.township_id, keycol))
    return out



def _day_ranges(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    ordered = sorted(days)
    out: list[list[dt.date]] = []
    for d in ordered:
        if out and d == out[-1][1] + dt.timedelta(days=1):
            out[-1][1] = d
        else:
            out.append([d, d])
    return [(a, b) for a, b in out]


ROLLUP_LOCK = 2023120806  # PostgreSQL advisory lock: one rollup rebuild at a time, across replicas


def _lock_rollup(session: Session) -> None:
    """Wait for any other transaction rebuilding the rollup, then hold the right until this one ends.
    PostgreSQL: a transaction-level advisory lock; SQLite's writer lock (BEGIN IMMEDIATE) already
    orders every writing transaction."""
    if _dialect(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK})


def refresh_rollup(session: Session, days: set[dt.date] | None = None) -> int:
    """Rebuild the rollup rows of the given local days (all days when None). Returns rows written.
    Serialised by `_lock_rollup`."""
    dialect = _dialect(session)
    _lock_rollup(session)
    if days is not None and not days:
        return 0
    if days is None:
        session.execute(delete(CaseDayStat))
        session.execute(delete(CaseDayMix))
        session.execute(delete(CaseMonthMix))
        session.execute(delete(CaseMonthStat))
        ranges = None
    else:
        day_ranges = _day_ranges(days)
        for model in (CaseDayStat, CaseDayMix):
            session.execute(delete(model).where(or_(*(model.day.between(a, b) for a, b in day_ranges))))
        ranges = [Period(a, b).utc_bounds() for a, b in day_ranges]
    stat_cols = ["day", "township_id", "mode", *MEASURE_NAMES]
    res = session.execute(insert(CaseDayStat).from_select(stat_cols, _rollup_select(dialect, ranges)))
    n = res.rowcount or 0
    for q in _mix_select(dialect, ranges):
        res = session.execute(insert(CaseDayMix).from_select(["day", "township_id", "dim", "key", "received"], q))
        n += res.rowcount or 0
    n += _refresh_months(session, dialect, None if days is None else {d.replace(day=1) for d in days})
    session.flush()
    return n


def month_start(day_expr, dialect: str):
    if dialect == "postgresql":
        return cast(func.date_trunc("month", day_expr), DATE)
    return func.date(day_expr, "start of month")


def _month_end(m: dt.date) -> dt.date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


def _refresh_months(session: Session, dialect: str, months: set[dt.date] | None) -> int:
    """Rebuild the monthly rollups from the daily ones for the given months (all when None)."""
    if months is not None and not months:
        return 0
    n = 0
    for day_model, month_model, keys, values in (
            (CaseDayMix, CaseMonthMix, ["township_id", "dim", "key"], ["received"]),
            (CaseDayStat, CaseMonthStat, ["township_id", "mode"], MEASURE_NAMES)):
        month = month_start(day_model.day, dialect)
        key_cols = [getattr(day_model, k) for k in keys]
        q = select(month, *key_cols, *(func.sum(getattr(day_model, v)) for v in values)).group_by(month, *key_cols)
        if months is not None:
            session.execute(delete(month_model).where(month_model.month.in_(sorted(months))))
            q = q.where(or_(*(day_model.day.between(m, _month_end(m)) for m in sorted(months))))
        res = session.execute(insert(month_model).from_select(["month", *keys, *values], q))
        n += res.rowcount or 0
    return n


def split_months(period: Period) -> tuple[list[dt.date], list[tuple[dt.date, dt.date]]]:
    """The period's whole calendar months, and the day ranges left over at either end."""
    first = period.start if period.start.day == 1 else _month_end(period.start) + dt.timedelta(days=1)
    months, m = [], first
    while _month_end(m) <= period.end:
        months.append(m)
        m = _month_end(m) + dt.timedelta(days=1)
    if not months:
        return [], [(period.start, period.end)]
    edges = []
    if period.start < months[0]:
        edges.append((period.start, months[0] - dt.timedelta(days=1)))
    after = _month_end(months[-1]) + dt.timedelta(days=1)
    if after <= period.end:
        edges.append((after, period.end))
    return months, edges


DIRTY_CASES_MAX = 20_000  # more changed cases than this since the last refresh: rebuild everything


def _dirty_days(session: Session, since: dt.datetime) -> set[dt.date] | None:
    """Every local day a case changed since `since` counts on, now or before the change: its
    current event times plus the times of all its events and follow-ups (a reopened case's old
    settlement day is one of its events' days). None when so many changed that a full rebuild
    is cheaper."""
    dialect = _dialect(session)
    changed = list(session.scalars(select(Case.id).where(Case.updated_at >= since).limit(DIRTY_CASES_MAX + 1)))
    if len(changed) > DIRTY_CASES_MAX:
        return None
    days: set[dt.date] = set()
    for i in range(0, len(changed), 1000):
        ids = changed[i:i + 1000]
        queries = [select(local_day(col, dialect)).where(Case.id.in_(ids), col.isnot(None)).distinct()
                   for col in (*ANCHORS.values(), Case.followed_up_at)]
        queries.append(select(local_day(CaseEvent.at, dialect)).where(CaseEvent.case_id.in_(ids)).distinct())
        queries.append(select(local_day(FollowUp.done_at, dialect)).where(FollowUp.case_id.in_(ids)).distinct())
        for q in queries:
            days.update(_as_date(v) for v in session.scalars(q) if v is not None)
    return days


def refresh_dirty(session: Session, overlap_minutes: int = 10) -> int:
    """Refresh the days touched by cases changed since the last refresh (with an overlap so a
    transaction that committed late is not missed). Returns the number of days rebuilt."""
    state = settings.get(session, ROLLUP_STATE_KEY) or {}
    started = clock.now()
    if not state.get("watermark"):
        refresh_rollup(session)
        n = -1
    else:
        since = dt.datetime.fromisoformat(state["watermark"]) - dt.timedelta(minutes=overlap_minutes)
        days = _dirty_days(session, since)
        if days is None or len(days) > 400:
            refresh_rollup(session)
            n = -1
        else:
            refresh_rollup(session, days)
            n = len(days)
    settings.put(session, ROLLUP_STATE_KEY, {"watermark": started.isoformat(), "refreshed_at": clock.now().isoformat()})
    return n


def ensure_fresh(session: Session, max_age_seconds: int = 60) -> bool:
    """Refresh the rollup when the last refresh is older than max_age_seconds. True if refreshed.

    Several replicas (or threads) asking at the same moment rebuild it once: whoever finds it stale
    takes the rollup lock and looks again; one that waited behind another's rebuild finds it fresh
    (READ COMMITTED: the statement after the lock sees the rebuild's commit) and only reads."""
    if _fresh(session, max_age_seconds):
        return False
    _lock_rollup(session)
    if _fresh(session, max_age_seconds):
        return False
    refresh_dirty(session)
    return True


def _fresh(session: Session, max_age_seconds: int) -> bool:
    state = settings.get(session, ROLLUP_STATE_KEY) or {}
    at = state.get("refreshed_at")
    if at and _rollup_lost(session):  # tables emptied behind the watermark's back (restore, wipe)
        settings.put(session, ROLLUP_STATE_KEY, {})
        return False
    return bool(at) and (clock.now() - dt.datetime.fromisoformat(at)).total_seconds() < max_age_seconds


def _rollup_lost(session: Session) -> bool:
    has_rollup = session.scalar(select(CaseDayStat.id).limit(1)) is not None
    return not has_rollup and session.scalar(select(Case.id).limit(1)) is not None


def mark_full_refresh(session: Session) -> None:
    """After bulk loads (demo, benchmark): rebuild everything and set the watermark."""
    refresh_rollup(session)
    now = clock.now().isoformat()
    settings.put(session, ROLLUP_STATE_KEY, {"watermark": now, "refreshed_at": now})


# ------------------------------------------------------------------ figures from the rollup
def _stat_where(session: Session, period: Period, scope: Scope, model=CaseDayStat):
    conds = [model.day.between(period.start, period.end)]
    tids = scope.township_ids(session)
    if tids is not None:
        conds.append(model.township_id.in_(tids))
    return conds


def _stat_rows(session: Session, period: Period, scope: Scope):
    """The period's rollup rows (township_id, mode, measures): whole months from the monthly
    table, the partial months at either end from the daily one."""
    months, edges = split_months(period)
    tids = scope.township_ids(session)
    cols = ["township_id", "mode", *MEASURE_NAMES]
    parts = []
    if months:
        q = select(*(getattr(CaseMonthStat, c) for c in cols)).where(CaseMonthStat.month.in_(months))
        if tids is not None:
            q = q.where(CaseMonthStat.township_id.in_(tids))
        parts.append(q)
    for lo, hi in edges:
        q = select(*(getattr(CaseDayStat, c) for c in cols)).where(CaseDayStat.day.between(lo, hi))
        if tids is not None:
            q = q.where(CaseDayStat.township_id.in_(tids))
        parts.append(q)
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("r")


def totals(session: Session, period: Period, scope: Scope = Scope()) -> dict:
    """All measures for the period, from the rollup."""
    r = _stat_rows(session, period, scope)
    q = select(*(func.coalesce(func.sum(r.c[n]), 0).label(n) for n in MEASURE_NAMES))
    return {k: int(v or 0) for k, v in session.execute(q).one()._mapping.items()}


def totals_pair(session: Session, period: Period, scope: Scope = Scope()) -> tuple[dict, dict]:
    """This period's and the previous equal-length period's measures."""
    return totals(session, period, scope), totals(session, period.previous(), scope)


def rate(num: float, den: float) -> float | None:
    """The one rate of the portal (success, satisfaction, quick response, follow-up, shares):
    num ÷ den rounded half up to a tenth of a percentage point (0.985 = 98.5%), so a figure shown,
    compared, ranked or snapshotted is the same number everywhere. None when there is nothing to
    divide (den 0): shown as "—", never as 0%."""
    if not den:
        return None
    return float((Decimal(num) / Decimal(den)).quantize(Decimal("0.001"), ROUND_HALF_UP))


def pct(value: float | None, none: str = "—") -> str:
    """A rate as people read it: 98.5%; `none` when there is no rate."""
    return none if value is None else f"{value * 100:.1f}%"


def rates(t: dict) -> dict:
    return {
        "success_rate": rate(t["settled"], t["settled"] + t["failed"]),
        "satisfaction_rate": rate(t["satisfied"], t["followed"]),
        "quick_rate": rate(t["quick"], t["notified"]),
        "follow_up_rate": rate(t["settled_followed"], t["settled"]),
    }


def period_figures(session: Session, start: dt.date, end: dt.date) -> dict:
    """A period's city-wide headline figures as a JSON-ready snapshot (bulletins, monthly review
    meetings): the dashboard's measures and rates, received cases by mode and by current status."""
    period = Period(start, end)
    t = raw_totals(session, period)
    by_mode = raw_totals(session, period, group_by=[Case.mode.label("mode")])
    lo, hi = period.utc_bounds()
    by_status = session.execute(select(Case.status, func.count()).where(Case.received_at >= lo, Case.received_at < hi)
                                .group_by(Case.status))
    return {"period_start": start.isoformat(), "period_end": end.isoformat(),
            **{k: t[k] for k in ("received", "settled", "failed", "followed", "satisfied")}, **rates(t),
            "by_mode": {r["mode"]: r["received"] for r in by_mode if r["mode"]},
            "by_status": {s: int(n) for s, n in by_status}}


def open_now(session: Session, scope: Scope = Scope()) -> dict:
    """Open cases now and those past their level's time limit (partial index on open statuses)."""
    now = clock.now()
    q = select(func.count().label("open"), _count_if(Case.level_due_at < now).label("overdue")) \
        .where(Case.status.in_(OPEN_STATUSES))
    tids = scope.township_ids(session)
    if tids is not None:
        q = q.where(Case.township_id.in_(tids))
    r = session.execute(q).one()
    return {"open": int(r.open or 0), "overdue": int(r.overdue or 0)}


# ------------------------------------------------------------------ 110 totals and police side
def call_total_for(session: Session, period: Period) -> float | None:
    """110 calls in the period from the monthly totals, pro-rated by days for partial months;
    None unless every month the period touches has been entered."""
    months = []
    d = period.start.replace(day=1)
    while d <= period.end:
        months.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    rows = dict(session.execute(select(PoliceCallTotal.month, PoliceCallTotal.total)
                                .where(PoliceCallTotal.month.in_(months))).all())
    rows = {_as_date(k): v for k, v in rows.items()}
    if any(m not in rows for m in months):
        return None
    total = 0.0
    for m in months:
        last = m.replace(day=calendar.monthrange(m.year, m.month)[1])
        overlap = (min(last, period.end) - max(m, period.start)).days + 1
        total += rows[m] * overlap / last.day
    return total


def police_minutes(session: Session) -> dict:
    value = settings.get(session, POLICE_MINUTES_KEY, POLICE_MINUTES_DEFAULT) or POLICE_MINUTES_DEFAULT
    return {"before": int(value.get("before", 60)), "after": int(value.get("after", 20))}


def police_side(session: Session, period: Period, scope: Scope = Scope(), t: dict | None = None) -> dict:
    t = t if t is not None else totals(session, period, scope)
    calls = call_total_for(session, period) if scope.kind == "city" else None
    mins = police_minutes(session)
    saved = t["from110"] * max(mins["before"] - mins["after"], 0)
    return {"diverted": t["from110"], "calls110": calls,
            "share": rate(t["from110"], calls),
            "minutes_before": mins["before"], "minutes_after": mins["after"],
            "minutes_saved": saved, "hours_saved": saved / 60}


# ------------------------------------------------------------------ headline tiles
NO_DELTA = "—"


def has_data_before(session: Session, day: dt.date) -> bool:
    """Whether any case was received before the (Beijing) day: the periods before it have data."""
    lo = dt.datetime.combine(day, dt.time(), clock.LOCAL_TZ).astimezone(clock.UTC)
    return session.scalar(select(Case.id).where(Case.received_at < lo).limit(1)) is not None


def _has_activity(t: dict) -> bool:
    """Whether a period's measures record anything at all (a case received, ended or followed up)."""
    return any(t.get(k) for k in ("received", "settled", "failed", "followed"))


@dataclass
class Tile:
    key: str
    label: str
    value: float | int | None
    prev: float | int | None = None
    kind: str = "count"  # count / rate
    help: str = ""
    compared: bool = True  # compared with the previous period (the live figures "open", "overdue" are not)
    prev_has_data: bool = True  # False when the previous period lies before the first recorded case

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        return pct(self.value) if self.kind == "rate" else f"{int(self.value):,}"

    @property
    def delta(self) -> str | None:
        """The change against the previous period; "—" when there is nothing to compare with
        (a previous period without data would turn every figure into a rise: "+4,956")."""
        if not self.compared:
            return None
        if self.value is None or self.prev is None or not self.prev_has_data:
            return NO_DELTA
        diff = self.value - self.prev
        if self.kind == "rate":
            return f"{diff * 100:+.1f} 个百分点"
        return f"{int(diff):+,}"


def headline(session: Session, period: Period, scope: Scope = Scope()) -> list[Tile]:
    cur, prev = totals_pair(session, period, scope)
    rc, rp = rates(cur), rates(prev)
    ps_cur = police_side(session, period, scope, cur)
    ps_prev = police_side(session, period.previous(), scope, prev)
    now = open_now(session, scope)
    # nothing to compare with: no case before the period, or a previous period without any activity
    prev_has_data = _has_activity(prev) and has_data_before(session, period.start)
    tiles = [
        Tile("received", "非警务警情", cur["received"], prev["received"], help="统计期内接报登记的案件数"),
        Tile("share110", "占110警情比例", ps_cur["share"], ps_prev["share"], "rate",
             "来自110的案件 ÷ 110接警总量（需录入当月110总量；仅全市范围）"),
        Tile("settled", "调解成功", cur["settled"], prev["settled"], help="统计期内调解成功的案件数"),
        Tile("success_rate", "调解成功率", rc["success_rate"], rp["success_rate"], "rate",
             "调解成功 ÷（调解成功 + 引导诉讼 + 终止），按办结时间计"),
        Tile("satisfaction_rate", "满意率", rc["satisfaction_rate"], rp["satisfaction_rate"], "rate",
             "（满意 + 基本满意）÷ 回访数，按回访时间计"),
        Tile("quick_rate", "快速响应率", rc["quick_rate"], rp["quick_rate"], "rate",
             f"{settings.phrase(session, 'arrival_minutes')}内到场 ÷ 已调度案件，按接报时间计"),
        Tile("follow_up_rate", "回访完成率", rc["follow_up_rate"], rp["follow_up_rate"], "rate",
             "统计期内调解成功的案件中已回访的比例"),
        Tile("open", "在办案件（当前）", now["open"], help="当前未办结的案件", compared=False),
        Tile("overdue", "超时案件（当前）", now["overdue"], help="当前超过本层级办理时限的在办案件", compared=False),
    ]
    for t in tiles:
        t.prev_has_data = prev_has_data
    return tiles


# ------------------------------------------------------------------ series (all from the rollup)
def weekly(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    wk = week_start(CaseDayStat.day, _dialect(session)).label("week")
    q = select(wk, func.sum(CaseDayStat.received).label("received"), func.sum(CaseDayStat.settled).label("settled")) \
        .where(*_stat_where(session, period, scope)).group_by(wk).order_by(wk)
    out = []
    for r in session.execute(q):
        week = _as_date(r.week)
        days = (min(week + dt.timedelta(days=6), period.end) - max(week, period.start)).days + 1
        out.append({"week": week, "received": int(r.received), "settled": int(r.settled), "days": days,
                    "partial": days < 7})
    return out


def by_mode(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    r = _stat_rows(session, period, scope)
    q = select(r.c.mode, func.sum(r.c.received).label("received"), func.sum(r.c.settled).label("settled"),
               func.sum(r.c.failed).label("failed")).group_by(r.c.mode).order_by(r.c.mode)
    rows = session.execute(q).all()
    total = sum(int(x.received) for x in rows)
    return [{"mode": x.mode, "mode_name": ladder.MODE_NAMES.get(x.mode, x.mode), "received": int(x.received),
             "share": rate(int(x.received), total),
             "settled": int(x.settled), "success_rate": rate(int(x.settled), int(x.settled) + int(x.failed))}
            for x in rows]


def _mix(session: Session, period: Period, scope: Scope, dim: str, by_township: bool = False):
    """Cases received by category or source: whole months from the monthly rollup, the partial
    months at either end from the daily one."""
    months, edges = split_months(period)
    tids = scope.township_ids(session)
    parts = []
    if months:
        q = select(CaseMonthMix.township_id, CaseMonthMix.key, CaseMonthMix.received) \
            .where(CaseMonthMix.dim == dim, CaseMonthMix.month.in_(months))
        if tids is not None:
            q = q.where(CaseMonthMix.township_id.in_(tids))
        parts.append(q)
    for lo, hi in edges:
        q = select(CaseDayMix.township_id, CaseDayMix.key, CaseDayMix.received) \
            .where(CaseDayMix.dim == dim, CaseDayMix.day.between(lo, hi))
        if tids is not None:
            q = q.where(CaseDayMix.township_id.in_(tids))
        parts.append(q)
    u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("m")
    cols = [u.c.township_id] if by_township else []
    q = select(*cols, u.c.key, func.sum(u.c.received).label("received")).group_by(*cols, u.c.key)
    return session.execute(q).all()


def by_source(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    rows = _mix(session, period, scope, "source")
    out = [{"source": r.key, "source_name": case_service.SOURCES.get(r.key, r.key), "received": int(r.received)}
           for r in rows]
    return sorted(out, key=lambda r: -r["received"])


def _category_names(session: Session) -> dict[str, str]:
    return {str(i): n for i, n in session.execute(select(DisputeCategory.id, DisputeCategory.name))}


def by_category(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    names = _category_names(session)
    out = [{"category": names.get(r.key, r.key), "received": int(r.received)}
           for r in _mix(session, period, scope, "category")]
    return sorted(out, key=lambda r: -r["received"])


def _township_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(Township.id, Township.name))}


def by_township(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    r = _stat_rows(session, period, scope)
    q = select(r.c.township_id, func.sum(r.c.received).label("received"), func.sum(r.c.settled).label("settled"),
               func.sum(r.c.failed).label("failed")).group_by(r.c.township_id)
    names = _township_names(session)
    out = [{"township_id": x.township_id, "township": names.get(x.township_id, str(x.township_id)),
            "received": int(x.received), "settled": int(x.settled),
            "success_rate": rate(int(x.settled), int(x.settled) + int(x.failed))} for x in session.execute(q)]
    return sorted(out, key=lambda x: -x["received"])


def heat(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    """Township × category: cases received."""
    names, tnames = _category_names(session), _township_names(session)
    return [{"township_id": r.township_id, "township": tnames.get(r.township_id, ""),
             "category": names.get(r.key, r.key), "received": int(r.received)}
            for r in _mix(session, period, scope, "category", by_township=True)]


def funnel(t: dict) -> list[dict]:
    return [{"stage": label, "cases": t[key], "order": i} for i, (key, label) in enumerate(FUNNEL.items())]


def settle_time(t: dict) -> list[dict]:
    return [{"bucket": label, "cases": t[key], "order": i} for i, (key, label) in enumerate(SETTLE_BUCKETS.items())]


# ------------------------------------------------------------------ repeat calls
def repeat_calls(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    """Cases received in the period with a party whose mobile or home address (exact text) was a
    party's in another case in the 30 days before (or at the same time), by township. Window functions: one sort per
    key instead of a self-join per case."""
    dialect = _dialect(session)
    lo, hi = period.utc_bounds()
    lo_window = lo - dt.timedelta(days=REPEAT_WINDOW_DAYS)
    tids = scope.township_ids(session)

    def keyed(key_expr, extra_from=None, key_ok=None):
        q = select(Case.id.label("case_id"), Case.received_at.label("at"), key_expr.label("k"))
        if extra_from is not None:
            q = q.select_from(extra_from)
        q = q.where(Case.received_at >= lo_window, Case.received_at < hi)
        if key_ok is not None:
            q = q.where(key_ok)
        return q.distinct()

    parties = Party.__table__.join(Case.__table__, Party.case_id == Case.id)
    by_phone = keyed(Party.mobile, parties, Party.mobile != "")
    by_addr = keyed(Party.address, parties, func.length(func.trim(Party.address)) > 0)
    repeat_ids = []
    for q in (by_phone, by_addr):
        s = q.subquery()
        w = select(s.c.case_id, s.c.at,
                   func.lag(s.c.at).over(partition_by=s.c.k, order_by=(s.c.at, s.c.case_id)).label("prev_at"),
                   func.lag(s.c.case_id).over(partition_by=s.c.k, order_by=(s.c.at, s.c.case_id)).label("prev_id")
                   ).subquery()
        repeat_ids.append(select(w.c.case_id).where(
            w.c.prev_id.isnot(None), w.c.prev_id != w.c.case_id, w.c.at >= lo,
            w.c.prev_at >= minus_days(w.c.at, REPEAT_WINDOW_DAYS, dialect)))
    rep = union_all(*repeat_ids).subquery()
    is_repeat = Case.id.in_(select(rep.c.case_id))
    q = select(Case.township_id, func.count().label("cases"), _count_if(is_repeat).label("repeats")) \
        .where(Case.received_at >= lo, Case.received_at < hi).group_by(Case.township_id)
    if tids is not None:
        q = q.where(Case.township_id.in_(tids))
    names = _township_names(session)
    out = [{"township_id": r.township_id, "township": names.get(r.township_id, ""), "cases": int(r.cases),
            "repeats": int(r.repeats), "share": rate(int(r.repeats), int(r.cases))} for r in session.execute(q)]
    return sorted(out, key=lambda r: (-r["repeats"], r["township"]))


# ------------------------------------------------------------------ 机制成效 (the scheme's effect)
def scheme_launch(session: Session) -> dt.date | None:
    """The Beijing day of the first case handed to a mediation room (`room_id` set): the day the
    scheme started in the data. Cases before it (the demo's pre-scheme baseline) have no room."""
    first = session.scalar(select(func.min(Case.received_at)).where(Case.room_id.isnot(None)))
    return None if first is None else clock.local(first).date()


def police_time(session: Session, period: Period, scope: Scope = Scope()) -> dict:
    """Police time per incident, measured: mean minutes from the officers' arrival to their
    hand-over (or, before the scheme, to the end of their handling) over the cases received in the
    period that carry both times. `cases` 0: nothing measured (then the page says it is an estimate)."""
    lo, hi = period.utc_bounds()
    mins = days_between(Case.police_handover_at, Case.police_arrived_at, _dialect(session)) * 1440.0
    q = select(func.count().label("n"), func.avg(mins).label("avg")).where(
        Case.received_at >= lo, Case.received_at < hi, Case.police_arrived_at.isnot(None),
        Case.police_handover_at.isnot(None))
    tids = scope.township_ids(session)
    if tids is not None:
        q = q.where(Case.township_id.in_(tids))
    r = session.execute(q).one()
    n = int(r.n or 0)
    return {"cases": n, "minutes": round(float(r.avg), 1) if n else None}


def repeat_share(session: Session, period: Period, scope: Scope = Scope()) -> dict:
    """重复报警 over the whole scope: the township counts of `repeat_calls` added up."""
    rows = repeat_calls(session, period, scope)
    cases, repeats = sum(r["cases"] for r in rows), sum(r["repeats"] for r in rows)
    return {"cases": cases, "repeats": repeats, "share": rate(repeats, cases)}


def room_handling(session: Session, period: Period, scope: Scope = Scope()) -> list[dict]:
    """Cases received in the period that were handed to a station room or a village room (their
    history reaches that level), and how many of them were settled in the end."""
    lo, hi = period.utc_bounds()
    reached = select(CaseEvent.case_id, CaseEvent.to_level.label("room")) \
        .where(CaseEvent.to_level.in_(("station_room", "village_room"))).distinct().subquery("reached")
    q = select(reached.c.room, func.count().label("handed"), _count_if(Case.settled_at.isnot(None)).label("settled")) \
        .join(Case, Case.id == reached.c.case_id).where(Case.received_at >= lo, Case.received_at < hi) \
        .group_by(reached.c.room)
    tids = scope.township_ids(session)
    if tids is not None:
        q = q.where(Case.township_id.in_(tids))
    got = {r.room: (int(r.handed), int(r.settled)) for r in session.execute(q)}
    total = sum(h for h, _ in got.values())
    return [{"room": room, "room_name": ladder.LEVELS[room], "handed": got.get(room, (0, 0))[0],
             "share": rate(got.get(room, (0, 0))[0], total),
             "success_rate": rate(got.get(room, (0, 0))[1], got.get(room, (0, 0))[0])}
            for room in ("station_room", "village_room")]


TASKFORCE_COUNTS = {
    "risk_notices": ("风险提示函", "专班向存在风险的单位发出的风险提示函（按发文日期计，不含草稿）"),
    "meetings": ("协调会", "综治中心召集的协调会（按召开日期计，不含月度例会）"),
    "bulletins": ("工作专报", "已印发、报告期截止于本统计期内的工作专报期数"),
    "video_links": ("视频连线", "市综治中心与调解室、律师、群众的视频连线（按开始时间计）"),
    "consultations": ("线上法律咨询", "群众通过解纷码申请并已办结的线上法律咨询（按办结时间计）"),
}


def taskforce_counts(session: Session, period: Period) -> dict[str, int]:
    """The task force's and the online services' counts for the period, city-wide."""
    from db.models import Bulletin, Instrument, Meeting, OnlineRequest, VideoLink
    lo, hi = period.utc_bounds()
    queries = {
        "risk_notices": select(func.count()).select_from(Instrument).where(
            Instrument.kind == "risk_notice", Instrument.state != "draft",
            Instrument.issue_date.between(period.start, period.end)),
        "meetings": select(func.count()).select_from(Meeting).where(
            Meeting.kind == "coordination", Meeting.held_on.between(period.start, period.end)),
        "bulletins": select(func.count()).select_from(Bulletin).where(
            Bulletin.state == "issued", Bulletin.period_end.between(period.start, period.end)),
        "video_links": select(func.count()).select_from(VideoLink).where(
            VideoLink.started_at >= lo, VideoLink.started_at < hi),
        "consultations": select(func.count()).select_from(OnlineRequest).where(
            OnlineRequest.kind == "legal_consultation", OnlineRequest.status == "done",
            OnlineRequest.done_at >= lo, OnlineRequest.done_at < hi),
    }
    return {k: int(session.scalar(q) or 0) for k, q in queries.items()}


@dataclass
class EffectRow:
    """One line of 机制成效: this period against the comparison period."""
    key: str
    label: str
    now: float | None
    before: float | None
    kind: str  # rate / minutes
    explain: str
    measured: bool = True  # False: an estimate (police minutes from the setting), said so on the page

    def show(self, value) -> str:
        if value is None:
            return "—"
        return pct(value) if self.kind == "rate" else f"{value:,.0f} 分钟"

    @property
    def change(self) -> str:
        if self.now is None or self.before is None:
            return NO_DELTA
        if self.kind == "rate":
            return f"{(self.now - self.before) * 100:+.1f} 个百分点"
        if not self.before:
            return NO_DELTA
        return f"{(self.now - self.before) / self.before * 100:+.0f}%"


def effect(session: Session, period: Period, scope: Scope = Scope(), repeats: bool = True) -> dict:
    """机制成效: the period against the same-length period before it (the pre-scheme baseline
    when the period starts at the scheme's launch), plus the task-force and service counts and the
    station-room / village-room split. Aggregates only. `repeats=False` leaves the repeat-call
    share out (it reads every party of both periods: about 2 s a year at a million cases), as the
    dashboard does until its 重复报警分析 is switched on."""
    before_period = period.previous()
    launch = scheme_launch(session)
    baseline = launch is not None and before_period.end < launch
    cur, prev = totals_pair(session, period, scope)
    rc, rp = rates(cur), rates(prev)
    if not _has_activity(prev):
        rp = {k: None for k in rp}
    pt_now, pt_before = police_time(session, period, scope), police_time(session, before_period, scope)
    mins = police_minutes(session)
    measured = bool(pt_now["cases"] and pt_before["cases"])
    if measured:
        minutes_now, minutes_before = pt_now["minutes"], pt_before["minutes"]
        police_explain = (f"民警到场至移交（实施前为处置结束）的平均用时，按案件记录的时间实测"
                          f"（本期 {pt_now['cases']:,} 起，对比期 {pt_before['cases']:,} 起）")
    else:
        minutes_now, minutes_before = mins["after"], mins["before"]
        police_explain = (f"估算值，非实测：案件缺少民警到场/移交时间，按每起 {mins['before']} 分钟降至 "
                          f"{mins['after']} 分钟估算（考核排名页可调）")
    if repeats:
        rep_now, rep_before = repeat_share(session, period, scope), repeat_share(session, before_period, scope)
        repeat_explain = f"当事人手机号或住址在 {REPEAT_WINDOW_DAYS} 天内已有其他案件的案件 ÷ 接报案件"
    else:
        rep_now = rep_before = {"share": None}
        repeat_explain = "按需计算：打开下方“重复报警分析”后显示（需逐一比对当事人，数据量大时较慢）"
    rows = [
        EffectRow("success_rate", "调解成功率", rc["success_rate"], rp["success_rate"], "rate",
                  "调解成功 ÷（调解成功 + 引导诉讼 + 终止），按办结时间计"),
        EffectRow("police_minutes", "每起警情民警用时", minutes_now, minutes_before, "minutes", police_explain,
                  measured),
        EffectRow("quick_rate", "快速响应率", rc["quick_rate"], rp["quick_rate"], "rate",
                  f"调度后{settings.phrase(session, 'arrival_minutes')}内有人到场的案件 ÷ 已调度案件，按接报时间计"),
        EffectRow("repeat_share", "重复报警率", rep_now["share"], rep_before["share"] if _has_activity(prev) else None,
                  "rate", repeat_explain),
    ]
    return {"period": period, "before": before_period, "baseline": baseline, "launch": launch,
            "before_label": "实施前（基线）" if baseline else "上一等长期", "rows": rows,
            "received": (cur["received"], prev["received"] if _has_activity(prev) else None),
            "counts": taskforce_counts(session, period), "rooms": room_handling(session, period, scope),
            "modes": by_mode(session, period, scope)}


# ------------------------------------------------------------------ Excel export


@dataclass
class Export:
    filename: str
    data: bytes
    mime: str = field(default="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def export_xlsx(title: str, period: Period, scope_name: str, header: list[str], rows: list[list],
                formats: list[str | None] | None = None, row_formats: list[str | None] | None = None) -> Export:
    """One sheet: a title line (period and scope), the header, the rows. Numbers stay numbers with
    a number format (services.exports.NUMBER_FORMATS: "int" #,##0, "percent" 0.0%, ...): per
    column (`formats`), or per row (`row_formats`, for a table mixing counts and rates such as the
    core figures); a whole number without a format gets #,##0. Refuses any cell that looks like a
    mobile or ID number: exports carry aggregates only, never personal data."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    for row in rows:
        for cell in row:
            if isinstance(cell, str) and contains_personal_number(cell):
                raise DomainError("导出内容中含有疑似手机号或身份证号，已拒绝导出。")
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([f"{title}（{scope_name}，{period.text}）"])
    ws["A1"].font = Font(bold=True)
    ws.append(safe_row(header))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for n, row in enumerate(rows):
        fmts = [(row_formats[n] if row_formats and row_formats[n] else None) or (formats[i] if formats else None)
                for i in range(len(row))]
        values = [_cell(v) if f is None else file_cell(f, v) for f, v in zip(fmts, row)]
        ws.append([v if isinstance(v, (int, float)) and not isinstance(v, bool) else safe_cell(v) for v in values])
        for i, (f, v) in enumerate(zip(fmts, values), start=1):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if f is None and isinstance(v, int):
                    f = "int"
                if f in NUMBER_FORMATS:
                    ws.cell(row=n + 3, column=i).number_format = NUMBER_FORMATS[f]
    for i, h in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = max(10, len(str(h)) * 2 + 2)
    buf = io.BytesIO()
    wb.save(buf)
    safe_scope = re.sub(r"[\\/:*?\"<>|\s]", "", scope_name)
    return Export(f"{title}_{safe_scope}_{period.start.isoformat()}_{period.end.isoformat()}.xlsx", buf.getvalue())


def core_figures_table(tiles: list[Tile]) -> tuple[list[str], list[list], list[str]]:
    """The core-figures export: header, rows (numbers, not display strings) and each row's format."""
    rows = [[t.label, t.value, t.prev if t.compared and t.prev_has_data else None] for t in tiles]
    return ["指标", "本期", "上一期"], rows, ["percent" if t.kind == "rate" else "int" for t in tiles]


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v
