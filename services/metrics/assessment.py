"""Assessment (考核): league tables of police stations and mediation rooms, weights, snapshots,
the award and sanction register (奖惩登记), and the monthly 110 totals.

A run computes a period's figures per unit, scores them with the current weights and stores
weights and results together: later weight changes never alter an old period's ranking.

Score (0-100) = Σ weightᵢ × indicatorᵢ ÷ Σ weightᵢ, with the indicators as fractions:
    cases        cases received ÷ the most any unit of the same kind received in the period
    success      settled ÷ (settled + failed)
    satisfaction (满意 + 基本满意) ÷ follow-ups
    quick        arrivals within the arrival limit (setting arrival_minutes) ÷ dispatched cases
    follow_up    settled cases already followed up ÷ settled
    on_time      1 − overdue ÷ cases (overdue: see `_overdue_by`)
Every fraction is a `metrics.rate` (rounded to a tenth of a percentage point, as shown in the
league table). A rate with nothing to measure (no follow-ups yet...) counts as 0. Units with no
case in the period are listed without a rank and are never among the bottom three.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, desc, func, or_, select
from sqlalchemy.orm import Session

from db.models import (AssessmentResult, AssessmentRun, AwardEntry, Case, MediationRoom, PoliceCallTotal,
                       PoliceStation, Township)
from db.models.assessment import UNIT_ROOM, UNIT_STATION, UNIT_TYPES
from services import audit, clock, settings
from services.metrics import dashboard
from services.errors import NotFound, ValidationError
from services.metrics.dashboard import Period
from services.roles import STAFF, Actor, may, require

WEIGHTS_KEY = "assessment_weights"
WEIGHT_NAMES = {"cases": "办理数量", "success": "调解成功率", "satisfaction": "满意率", "quick": "快速响应率",
                "follow_up": "回访完成率", "on_time": "按时办结（无超时）"}
DEFAULT_WEIGHTS = {"cases": 10, "success": 30, "satisfaction": 25, "quick": 15, "follow_up": 10, "on_time": 10}
AWARD_KINDS = {"reward": "奖励", "interview": "约谈", "supervision": "督办", "kick_ball": "踢皮球奖",
               "snail": "蜗牛奖", "last_place": "末位"}
BOTTOM_N = 3


# ------------------------------------------------------------------ weights
def current_weights(session: Session) -> dict[str, float]:
    value = settings.get(session, WEIGHTS_KEY) or {}
    return {k: float(value.get(k, DEFAULT_WEIGHTS[k])) for k in WEIGHT_NAMES}


def set_weights(session: Session, actor: Actor, weights: dict) -> dict[str, float]:
    """Admin: change the weights used by future runs (old runs keep theirs)."""
    require(actor, "assessment.weights")
    errors, clean = {}, {}
    for k in WEIGHT_NAMES:
        try:
            v = float(weights.get(k, 0))
        except (TypeError, ValueError):
            v = -1
        if not 0 <= v <= 100:
            errors[f"w_{k}"] = f"{WEIGHT_NAMES[k]}的权重应为 0–100 之间的数字。"
        clean[k] = v
    if not errors and sum(clean.values()) <= 0:
        errors["w_cases"] = "权重不能全部为 0。"
    if errors:
        raise ValidationError(errors)
    settings.put(session, WEIGHTS_KEY, clean, actor, action="assessment.weights")
    return clean


def set_police_minutes(session: Session, actor: Actor, before: int, after: int) -> None:
    """Admin: police minutes per non-police call before/after diversion (dashboard estimate)."""
    require(actor, "settings.manage")
    errors = {}
    for key, v in (("minutes_before", before), ("minutes_after", after)):
        if not isinstance(v, int) or not 0 <= v <= 1440:
            errors[key] = "分钟数应为 0–1440 之间的整数。"
    if not errors and after > before:
        errors["minutes_after"] = "分流后的用时不应多于分流前。"
    if errors:
        raise ValidationError(errors)
    settings.put(session, dashboard.POLICE_MINUTES_KEY, {"before": before, "after": after}, actor)


# ------------------------------------------------------------------ monthly 110 totals
def _require_call_totals(actor: Actor) -> None:
    """Centre staff enter the month's 110 figure; so may the task force (assessment.manage)."""
    if actor.role != STAFF:
        require(actor, "assessment.manage")


def set_call_total(session: Session, actor: Actor, month: dt.date | None, total, note: str = "") -> PoliceCallTotal:
    _require_call_totals(actor)
    errors = {}
    if month is None:
        errors["month"] = "请选择月份。"
    elif month.replace(day=1) > clock.today().replace(day=1):
        errors["month"] = "不能录入未来月份的110总量。"
    try:
        total = int(total)
        if total <= 0 or total > 10_000_000:
            raise ValueError
    except (TypeError, ValueError):
        errors["total"] = "110 接警总量应为正整数。"
    if errors:
        raise ValidationError(errors)
    month = month.replace(day=1)
    row = session.scalar(select(PoliceCallTotal).where(PoliceCallTotal.month == month))
    old = row.total if row else None
    if row is None:
        row = PoliceCallTotal(month=month, total=total)
        session.add(row)
    row.total, row.note = total, (note or "").strip()[:200]
    row.entered_by_id, row.entered_by_name, row.entered_at = actor.user_id, actor.display_name or actor.username, clock.now()
    session.flush()
    audit.record(session, actor, "assessment.call_total", "police_call_total", row.id, month=month.isoformat(),
                 old=old, new=total)
    return row


def call_totals(session: Session, limit: int = 24) -> list[dict]:
    rows = session.scalars(select(PoliceCallTotal).order_by(desc(PoliceCallTotal.month)).limit(limit))
    return [{"month": r.month.strftime("%Y-%m"), "total": r.total, "note": r.note, "entered_by": r.entered_by_name,
             "entered_at": clock.fmt(r.entered_at)} for r in rows]


# ------------------------------------------------------------------ computing a run
def _overdue_by(session: Session, period: Period, key, join_cond, as_of: dt.datetime) -> dict[int, int]:
    """Cases of the unit received in the period that, at `as_of`, are open past their level's time
    limit, or settled and still not followed up after the follow-up due date."""
    lo, hi = period.utc_bounds()
    cond = or_(and_(Case.status.in_(dashboard.OPEN_STATUSES), Case.level_due_at < as_of),
               and_(Case.status == "settled", Case.followed_up_at.is_(None), Case.follow_up_due_at < as_of))
    q = select(key.label("unit"), func.count()).where(Case.received_at >= lo, Case.received_at < hi, cond)
    if join_cond is not None:
        q = q.where(join_cond)
    q = q.group_by(key)
    return {u: n for u, n in session.execute(q) if u is not None}


def unit_figures(session: Session, period: Period, unit_type: str) -> list[dict]:
    """Every station (or room) with its figures for the period, from the case rows (GROUP BY)."""
    if unit_type == UNIT_STATION:
        # a case counts for the station covering its township (Township.police_station_id)
        key, join_cond = Township.police_station_id, Township.id == Case.township_id
        units = session.execute(select(PoliceStation.id, PoliceStation.name).order_by(PoliceStation.code)).all()
    else:
        key, join_cond = Case.room_id, None
        units = session.execute(select(MediationRoom.id, MediationRoom.name).order_by(MediationRoom.code)).all()
    rows = dashboard.raw_totals(session, period, group_by=[key.label("unit")], extra_where=join_cond)
    by_unit = {r["unit"]: r for r in rows if r["unit"] is not None}
    overdue = _overdue_by(session, period, key, join_cond, clock.now())
    out = []
    for uid, name in units:
        t = by_unit.get(uid) or {n: 0 for n in dashboard.MEASURE_NAMES}
        r = dashboard.rates(t)
        out.append({"unit_id": uid, "unit_name": name, "cases": int(t["received"]), "settled": int(t["settled"]),
                    "resolved": int(t["settled"]) + int(t["failed"]), **r, "overdue": overdue.get(uid, 0)})
    return out


def score(row: dict, weights: dict[str, float], max_cases: int) -> float:
    ind = {
        "cases": dashboard.rate(row["cases"], max_cases) or 0.0,
        "success": row["success_rate"] or 0.0,
        "satisfaction": row["satisfaction_rate"] or 0.0,
        "quick": row["quick_rate"] or 0.0,
        "follow_up": row["follow_up_rate"] or 0.0,
        "on_time": max(0.0, 1 - dashboard.rate(row["overdue"], row["cases"])) if row["cases"] else 0.0,
    }
    total_w = sum(weights.values())
    return round(100 * sum(weights[k] * ind[k] for k in weights) / total_w, 2) if total_w else 0.0


def _rank(rows: list[dict]) -> None:
    """Competition ranking by score (ties share a rank); units without cases get no rank."""
    ranked = sorted((r for r in rows if r["cases"] > 0), key=lambda r: (-r["score"], -r["cases"], r["unit_name"]))
    last_score, last_rank = None, 0
    for i, r in enumerate(ranked, start=1):
        if r["score"] != last_score:
            last_rank, last_score = i, r["score"]
        r["rank"] = last_rank
    for r in rows:
        r.setdefault("rank", None)


def previous_run(session: Session, period: Period) -> AssessmentRun | None:
    """The latest run of the period just before (ended before this one starts)."""
    return session.scalar(select(AssessmentRun).where(AssessmentRun.period_end < period.start)
                          .order_by(desc(AssessmentRun.period_end), desc(AssessmentRun.created_at),
                                    desc(AssessmentRun.id)).limit(1))


def compute_run(session: Session, actor: Actor, period: Period, note: str = "") -> AssessmentRun:
    """Task force: compute and snapshot the period's ranking with the current weights."""
    require(actor, "assessment.manage")
    if period.end >= clock.today():
        raise ValidationError({"period": "统计期尚未结束，不能生成考核排名。"})
    weights = current_weights(session)
    prev = previous_run(session, period)
    prev_ranks = {}
    if prev is not None:
        prev_ranks = {(r.unit_type, r.unit_id): r.rank for r in prev.results}
    run = AssessmentRun(period_start=period.start, period_end=period.end, label=period.label or period.text,
                        weights=weights, note=(note or "").strip()[:200], created_by_id=actor.user_id,
                        created_by_name=actor.display_name or actor.username, created_at=clock.now())
    session.add(run)
    session.flush()
    for unit_type in (UNIT_STATION, UNIT_ROOM):
        rows = unit_figures(session, period, unit_type)
        max_cases = max((r["cases"] for r in rows), default=0)
        for r in rows:
            r["score"] = score(r, weights, max_cases)
        _rank(rows)
        for r in rows:
            session.add(AssessmentResult(run_id=run.id, unit_type=unit_type, unit_id=r["unit_id"],
                                         unit_name=r["unit_name"], cases=r["cases"], settled=r["settled"],
                                         resolved=r["resolved"], success_rate=r["success_rate"],
                                         satisfaction_rate=r["satisfaction_rate"], quick_rate=r["quick_rate"],
                                         follow_up_rate=r["follow_up_rate"], overdue=r["overdue"], score=r["score"],
                                         rank=r["rank"], prev_rank=prev_ranks.get((unit_type, r["unit_id"]))))
    session.flush()
    audit.record(session, actor, "assessment.compute", "assessment_run", run.id, period=period.text,
                 weights=weights, previous_run=prev.id if prev else None)
    return run


def runs(session: Session, limit: int = 60) -> list[dict]:
    q = select(AssessmentRun).order_by(desc(AssessmentRun.period_end), desc(AssessmentRun.created_at),
                                       desc(AssessmentRun.id)).limit(limit)
    return [{"id": r.id, "label": r.label, "period_start": r.period_start, "period_end": r.period_end,
             "weights": r.weights, "created_by": r.created_by_name, "created_at": clock.fmt(r.created_at),
             "title": f"{r.label}（{r.period_start:%m-%d}—{r.period_end:%m-%d}，{clock.fmt(r.created_at)} {r.created_by_name}）"}
            for r in session.scalars(q)]


def arrow(rank: int | None, prev_rank: int | None) -> str:
    if rank is None or prev_rank is None:
        return "—" if rank is None else "新"
    if rank < prev_rank:
        return f"↑{prev_rank - rank}"
    if rank > prev_rank:
        return f"↓{rank - prev_rank}"
    return "→"


def league_table(session: Session, run_id: int, unit_type: str) -> list[dict]:
    run = session.get(AssessmentRun, run_id)
    if run is None:
        raise NotFound("考核记录不存在。")
    rows = list(session.scalars(select(AssessmentResult).where(AssessmentResult.run_id == run_id,
                                                               AssessmentResult.unit_type == unit_type)))
    ranked = [r for r in rows if r.rank is not None]
    worst = sorted(ranked, key=lambda r: (-r.rank, r.unit_name))[:BOTTOM_N]
    bottom_ids = {r.id for r in worst} if len(ranked) > BOTTOM_N else set()
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit_name))
    return [{"result_id": r.id, "unit_id": r.unit_id, "rank": r.rank, "arrow": arrow(r.rank, r.prev_rank),
             "unit_name": r.unit_name, "cases": r.cases, "success_rate": r.success_rate,
             "satisfaction_rate": r.satisfaction_rate, "quick_rate": r.quick_rate, "follow_up_rate": r.follow_up_rate,
             "overdue": r.overdue, "score": r.score, "bottom": r.id in bottom_ids} for r in rows]


LEAGUE_HEADER = ["名次", "升降", "单位", "办理数", "调解成功率", "满意率", "快速响应率", "回访完成率", "超时数", "综合得分", "末位提示"]


# the file's number format per column (services.exports.NUMBER_FORMATS): rates as 0.0%, counts #,##0
LEAGUE_FORMATS = ["int", None, None, "int", "percent", "percent", "percent", "percent", "int", "decimal", None]


def league_rows_for_export(rows: list[dict]) -> list[list]:
    """Numbers as numbers (rates as fractions): export_xlsx with LEAGUE_FORMATS formats them."""
    return [[r["rank"], r["arrow"], r["unit_name"], r["cases"], r["success_rate"], r["satisfaction_rate"],
             r["quick_rate"], r["follow_up_rate"], r["overdue"], r["score"], "后三名" if r["bottom"] else ""]
            for r in rows]


# ------------------------------------------------------------------ award and sanction register
@dataclass
class AwardInput:
    kind: str = ""
    unit_type: str = UNIT_STATION
    unit_id: int | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    run_id: int | None = None
    reason: str = ""
    amount: object = None
    interview_date: dt.date | None = None
    interview_who: str = ""
    agreed_fixes: str = ""
    supervision_order_no: str = ""


def unit_options(session: Session, unit_type: str) -> list[tuple[int, str]]:
    model = PoliceStation if unit_type == UNIT_STATION else MediationRoom
    return [(r.id, r.name) for r in session.execute(select(model.id, model.name).order_by(model.code))]


def add_award(session: Session, actor: Actor, data: AwardInput) -> AwardEntry:
    """Task force: record a reward or sanction decided from the ranking."""
    require(actor, "assessment.manage")
    e: dict[str, str] = {}
    if data.kind not in AWARD_KINDS:
        e["kind"] = "请选择奖惩类别。"
    unit_name = None
    if data.unit_type not in UNIT_TYPES:
        e["unit_id"] = "请选择单位类型。"
    elif data.unit_id is not None:
        model = PoliceStation if data.unit_type == UNIT_STATION else MediationRoom
        unit_name = session.scalar(select(model.name).where(model.id == data.unit_id))
    if unit_name is None and "unit_id" not in e:
        e["unit_id"] = "请选择派出所或调解室。"
    if data.period_start is None or data.period_end is None:
        e["period"] = "请选择考核期间。"
    elif data.period_end < data.period_start:
        e["period"] = "考核期间的结束日期不能早于开始日期。"
    reason = (data.reason or "").strip()
    if len(reason) < 4:
        e["reason"] = "请填写事由（至少 4 个字）。"
    amount = None
    if data.kind == "reward":
        try:
            amount = Decimal(str(data.amount)).quantize(Decimal("0.01"))
            if amount <= 0 or amount > Decimal("10000000"):
                raise InvalidOperation
        except (InvalidOperation, ValueError, TypeError):
            e["amount"] = "奖励须填写金额（元，大于 0）。"
    who, fixes = (data.interview_who or "").strip(), (data.agreed_fixes or "").strip()
    if data.kind == "interview":
        if data.interview_date is None:
            e["interview_date"] = "约谈须填写日期。"
        elif data.interview_date > clock.today() + dt.timedelta(days=60):
            e["interview_date"] = "约谈日期过远，请核对。"
        if len(who) < 2:
            e["interview_who"] = "约谈须填写约谈人和被约谈人。"
        if len(fixes) < 4:
            e["agreed_fixes"] = "约谈须填写商定的整改措施。"
    order_no = (data.supervision_order_no or "").strip()
    if data.kind == "supervision" and len(order_no) < 2:
        e["supervision_order_no"] = "督办须填写督办单编号。"
    if data.run_id is not None and session.get(AssessmentRun, data.run_id) is None:
        e["run_id"] = "所选考核排名不存在。"
    if e:
        raise ValidationError(e)
    entry = AwardEntry(kind=data.kind, unit_type=data.unit_type, unit_id=data.unit_id, unit_name=unit_name,
                       period_start=data.period_start, period_end=data.period_end, run_id=data.run_id,
                       reason=reason[:2000], amount=amount,
                       interview_date=data.interview_date if data.kind == "interview" else None,
                       interview_who=who[:200] if data.kind == "interview" else "",
                       agreed_fixes=fixes if data.kind == "interview" else "",
                       supervision_order_no=order_no[:60] if data.kind == "supervision" else "",
                       decided_by_id=actor.user_id, decided_by_name=actor.display_name or actor.username,
                       decided_at=clock.now())
    session.add(entry)
    session.flush()
    audit.record(session, actor, "assessment.award", "award_entry", entry.id, kind=data.kind,
                 unit=unit_name, amount=str(amount) if amount is not None else None)
    return entry


def awards(session: Session, kind: str | None = None, page: int = 1, per_page: int = 50) -> dict:
    """The register, newest first, paginated in SQL."""
    conds = [AwardEntry.kind == kind] if kind else []
    total = session.scalar(select(func.count()).select_from(AwardEntry).where(*conds)) or 0
    q = select(AwardEntry).where(*conds).order_by(desc(AwardEntry.decided_at), desc(AwardEntry.id)) \
        .offset((max(page, 1) - 1) * per_page).limit(per_page)
    rows = []
    for a in session.scalars(q):
        detail = ""
        if a.kind == "reward" and a.amount is not None:
            detail = f"¥{a.amount:,.0f}"
        elif a.kind == "interview":
            detail = f"{a.interview_date or ''} {a.interview_who}；整改：{a.agreed_fixes}"
        elif a.kind == "supervision":
            detail = f"督办单 {a.supervision_order_no}"
        rows.append({"id": a.id, "kind": AWARD_KINDS.get(a.kind, a.kind), "unit_type": UNIT_TYPES.get(a.unit_type, ""),
                     "unit_name": a.unit_name, "period": f"{a.period_start}—{a.period_end}", "reason": a.reason,
                     "detail": detail, "amount": a.amount, "decided_by": a.decided_by_name,
                     "decided_at": clock.fmt(a.decided_at)})
    return {"total": total, "rows": rows, "page": page, "pages": max(1, -(-total // per_page))}


def can_write(role: str) -> dict[str, bool]:
    """What the assessment pages offer the role (services re-check on every write)."""
    return {"weights": may(role, "assessment.weights"), "manage": may(role, "assessment.manage"),
            "call_totals": role == STAFF or may(role, "assessment.manage"),
            "police_minutes": may(role, "settings.manage")}

