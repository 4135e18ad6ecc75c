"""Demo step: monthly 110 totals, default weights, the dashboard rollup, one ranking per month
July–November 2023 (from the demo cases) and a register of rewards and sanctions drawn from them.

110 totals: Fengcheng's 110 takes 45,000+ calls a year (≈3,750 a month, docs/background.md). The demo
has ~940 cases a month, about 55% of them from 110, so ~14% of all 110 calls are diverted to
the mediators: roughly a third of the ~40% that are non-police incidents.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import AssessmentRun, AwardEntry, PoliceCallTotal, User
from services import auth, clock, settings
from services.metrics import assessment
from services.metrics import dashboard
from services.metrics.assessment import AwardInput
from services.metrics.dashboard import Period
from services.roles import TASKFORCE, Actor

MONTHS = [dt.date(2023, m, 1) for m in range(7, 13)]
RUN_MONTHS = MONTHS[:5]  # July–November; December was still running when the article appeared


def _taskforce(session: Session) -> Actor:
    user = session.scalar(select(User).where(User.role == TASKFORCE).order_by(User.id))
    if user is not None:
        return auth.actor_for(user)
    return Actor(user_id=None, username="taskforce", role=TASKFORCE, display_name="专班")


def _backdate(session: Session, model, row_id: int, column: str, at: dt.datetime) -> None:
    session.execute(update(model).where(model.id == row_id).values({column: at}))


def load(session: Session, rng: random.Random) -> None:
    tf = _taskforce(session)
    for m in MONTHS:
        total = int(3750 * rng.uniform(0.93, 1.08))
        session.add(PoliceCallTotal(month=m, total=total, note="110指挥中心月报", entered_by_id=tf.user_id,
                                    entered_by_name=tf.display_name, entered_at=clock.local_dt(m.year, m.month, 1, 9)
                                    + dt.timedelta(days=33)))
    settings.put(session, assessment.WEIGHTS_KEY, {k: float(v) for k, v in assessment.DEFAULT_WEIGHTS.items()})
    dashboard.mark_full_refresh(session)

    runs: list[AssessmentRun] = []
    for m in RUN_MONTHS:
        period = Period.month(m)
        run = assessment.compute_run(session, tf, period, note="月度考核")
        _backdate(session, AssessmentRun, run.id, "created_at", clock.local_dt(m.year, m.month, 1, 10)
                  + dt.timedelta(days=34))
        runs.append(run)
    session.flush()
    _awards(session, tf, runs)


def _ranked(session: Session, run: AssessmentRun, unit_type: str) -> list[dict]:
    return [r for r in assessment.league_table(session, run.id, unit_type) if r["rank"] is not None]


def _awards(session: Session, tf: Actor, runs: list[AssessmentRun]) -> None:
    entries: list[tuple[AwardInput, dt.datetime]] = []

    def add(run: AssessmentRun, unit_type: str, row: dict, kind: str, reason: str, days_after: int, **kw):
        data = AwardInput(kind=kind, unit_type=unit_type, unit_id=row["unit_id"], period_start=run.period_start,
                          period_end=run.period_end, run_id=run.id, reason=reason, **kw)
        at = dt.datetime.combine(run.period_end + dt.timedelta(days=days_after), dt.time(15), clock.LOCAL_TZ)
        entries.append((data, at))

    last = runs[-1]
    for unit_type, label in (("station", "派出所"), ("room", "调解室")):
        table = _ranked(session, last, unit_type)
        if not table:
            continue
        add(last, unit_type, table[0], "reward", f"7—11月考核{label}第一名，按考核办法予以奖励", 8, amount="100000")
    for i, run in enumerate(runs[:3]):
        stations = _ranked(session, run, "station")
        if len(stations) < 4:
            continue
        worst = stations[-1]
        if i < 2:
            add(run, "station", worst, "interview", f"{run.label}考核末位，回访完成率和快速响应率偏低", 6,
                interview_date=run.period_end + dt.timedelta(days=6),
                interview_who="市委政法委副书记约谈派出所所长、驻所母舅调解室负责人",
                agreed_fixes="一周内补齐未回访案件；网格员到场时间纳入周通报；22:00 后值班干部与派出所对接表上墙")
        else:
            add(run, "station", worst, "supervision", f"{run.label}考核排名靠后，超时案件较多", 5,
                supervision_order_no="丰综治督〔2023〕3号")
    rooms = [_ranked(session, r, "room") for r in runs]
    if all(len(t) >= 4 for t in rooms):
        snail = rooms[3][-1]
        add(runs[3], "room", snail, "snail", "连续两个月到场超时、层级移送拖延，经督办仍未整改", 7)
        kick = rooms[4][-2]
        add(runs[4], "room", kick, "kick_ball", "多次将可就地化解的纠纷推给上级或其他部门，被约谈两次", 7)
        add(runs[4], "room", rooms[4][-1], "last_place", "11月考核调解室末位", 7)
        stations = _ranked(session, runs[4], "station")
        if len(stations) >= 4:
            add(runs[4], "station", stations[-1], "last_place", "11月考核派出所末位", 7)
            add(runs[4], "station", stations[-2], "interview", "11月考核倒数第二，回访超时", 9,
                interview_date=runs[4].period_end + dt.timedelta(days=9), interview_who="专班组长约谈派出所分管副所长",
                agreed_fixes="建立回访台账，专班每周抽查")
    for data, at in entries:
        entry = assessment.add_award(session, tf, data)
        _backdate(session, AwardEntry, entry.id, "decided_at", at)
    session.flush()
