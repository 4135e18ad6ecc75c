"""Demo step: the pre-scheme baseline, 110 non-police incidents of 2023-01-01 to 2023-06-30.

Before July 2023 the police handled such calls alone: no 母舅, no mediation room, no ladder. The
article reports a 63% success rate then, and police time per incident about three times today's.
The baseline gives 机制成效 on the dashboard something true to compare 文章统计期 with.

How "police alone" is stored (docs/demo-data.md): the MOVES table settles only a case that is
being mediated, and only 调度派员 puts a case there; the dispatch table names people of the roster,
where officers are not. The nearest existing path is used: the officer, on site, calls in the
grid worker of the place (网格员 existed before the scheme) and the case is settled or terminated
at 现场调解: no room (`room_id` empty), no transfer, no arrival clock worth the name (the grid
worker comes 5-50 minutes after the call). `police_handover_at` is when the officers finished
(45-75 minutes on scene). Settled cases get the 110 call-back (回访) and are closed; a
dissatisfied answer reopens the case, which the police then end unsettled. Some callers ring again
within 30 days (repeat calls).

Built move by move through services.cases.case_state.apply (services.demo.cases._Sim), numbered
after the article's cases in the 2023 sequence, bulk-inserted, and the rollup of those days
rebuilt. A separate generator and no change to the cases step, so the 文章统计期 figures stay
exactly as they are.
"""
from __future__ import annotations

import copy
import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Party
from services import clock
from services.demo import cases as demo_cases

START = clock.local_dt(2023, 1, 1)
END = clock.local_dt(2023, 7, 1)  # exclusive: up to and including 2023-06-30
# outcomes: settled and followed up satisfied; settled, dissatisfied at the call-back, reopened and
# ended unsettled; terminated on site. 1,134 of 1,800 = 63.0% success (the article's "before").
PLAN = {"settled": 1134, "reopened": 200, "terminated": 466}
REPEAT_SHARE = 0.08  # callers who ring again about the same dispute within 30 days
MODE_WEIGHTS = {"station": 2, "village": 1}
TERMINATE = [("other", "民警现场处置未能化解，已告知当事人通过诉讼途径解决"),
             ("other_authority", "涉及行政执法事项，民警告知当事人向相关部门反映"),
             ("withdrawn", "当事人表示自行协商，民警离开现场")]


def _case(ctx, mode: str, received: dt.datetime, outcome: str) -> demo_cases._Sim:
    rng = ctx.rng
    village = demo_cases._place(ctx, mode)
    cat = demo_cases._weighted(rng, demo_cases.CATEGORY_WEIGHTS)
    row = demo_cases._new_row(ctx, mode, village, received, cat, "simple")
    town = ctx.towns[village.township_id]
    desc = row["description"]
    for prefix in ("110 转来：", "12345 热线工单："):
        desc = desc.removeprefix(prefix)
    row.update(source="110", hotline_order_no=None, room_id=None, after_hours=False,
               police_incident_no=row["police_incident_no"] or ctx.police_no(received),
               police_officer=row["police_officer"] or ctx.name(), police_station_id=town.police_station_id,
               description="110 接警（机制实施前，民警处置）：" + desc, route_note="机制实施前：民警现场处置")
    sim = demo_cases._Sim(ctx, row)
    demo_cases._parties(ctx, sim, village)
    R = row["received_at"]
    police_at = demo_cases._trim(R + demo_cases._minutes(rng, 8, 25))
    sim.register(R + demo_cases._minutes(rng, 1, 3), ctx.staff, row["route_note"])
    handover = demo_cases._trim(police_at + demo_cases._minutes(rng, 45, 75))
    timeline = [(handover, "police")]
    if row["_grid_worker"]:
        notified = police_at + demo_cases._minutes(rng, 2, 10)
        sim.move(notified, ctx.staff, "dispatch", "民警到场后通知网格员协助", people=[(row["_grid_worker"], "grid_worker")])
        d = sim.dispatches[0]
        timeline.append((demo_cases._trim(d["notified_at"] + demo_cases._minutes(rng, 5, 50)), "arrive"))
    for at, kind in sorted(timeline):
        if kind == "arrive":
            d = sim.dispatches[0]
            sim.move(at, ctx.staff, "arrive", dispatch_id=0, arrived_at=at,
                     dispatch={"id": 0, "notified_at": d["notified_at"], "due_at": d["due_at"]})
        else:
            sim.move(at, ctx.staff, "police", police_arrived_at=police_at, police_handover_at=at)
    t = max(at for at, _ in timeline) + dt.timedelta(minutes=1)
    officer = row["police_officer"]

    def later(after: dt.datetime, wanted: dt.timedelta) -> dt.datetime:
        """`wanted` after `after`, but still in June: nothing of the baseline may count in July
        (the 文章统计期 figures must not move)."""
        return min(after + wanted, after + (END - after) * rng.uniform(0.3, 0.6))

    if outcome == "terminated" or sim.row["status"] == "registered":
        code, note = rng.choice(TERMINATE)
        sim.move(t, ctx.staff, "terminate", note, reason_code=code)
        sim.move(later(t, dt.timedelta(days=rng.uniform(0.5, 4))), ctx.staff, "close")
        return sim
    sim.move(t, ctx.staff, "settle", agreement_summary="民警现场调解，双方达成口头和解")
    f = later(t, demo_cases._follow_up_time(rng, sim.row["settled_at"], False) - t)
    if outcome == "reopened":
        sim.move(f, ctx.staff, "follow_up", "当事人反映对方未履行，表示不满意", method="phone",
                 satisfaction="dissatisfied", agreement_holds=False, by_name=officer)
        end = later(f, dt.timedelta(days=rng.uniform(1, 3)))
        sim.move(end, ctx.staff, "terminate", "再次处置未果，已告知当事人通过诉讼途径解决", reason_code="other")
        sim.move(later(end, dt.timedelta(days=rng.uniform(0.5, 3))), ctx.staff, "close")
        return sim
    sim.move(f, ctx.staff, "follow_up", "110 回访：当事人表示认可", method="phone",
             satisfaction="satisfied" if rng.random() < 0.7 else "basic", agreement_holds=True, by_name=officer)
    sim.move(later(f, demo_cases._minutes(rng, 5, 240)), ctx.staff, "close")
    return sim


def _repeat_callers(rng: random.Random, sims: list[demo_cases._Sim]) -> None:
    """A share of the cases come from a caller of an earlier case 1-30 days before: same applicant."""
    sims.sort(key=lambda s: s.row["received_at"])
    for i in rng.sample(range(len(sims)), round(len(sims) * REPEAT_SHARE)):
        at = sims[i].row["received_at"]
        earlier = [s for s in sims[max(0, i - 400):i]
                   if dt.timedelta(days=1) <= at - s.row["received_at"] <= dt.timedelta(days=30)]
        if earlier:
            first = rng.choice(earlier).parties[0]
            sims[i].parties[0].update(name=first["name"], mobile=first["mobile"])


def load(session: Session, rng: random.Random) -> None:
    """Demo step: the pre-scheme baseline of January-June 2023 (after every other step)."""
    from services.metrics import dashboard
    ctx = copy.copy(demo_cases._Ctx(session, rng))
    ctx.mobiles = set(ctx.mobiles) | set(session.scalars(select(Party.mobile)))
    ctx.incident_seq, ctx.order_seq = {}, {}
    plans = [o for o, n in PLAN.items() for _ in range(n)]
    rng.shuffle(plans)
    days = (END - START).days - 1  # the last day's calls are handled the same day: received by 29 June
    received = []
    for _ in plans:
        day = START + dt.timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), weights=demo_cases.HOUR_WEIGHTS)[0]
        received.append((day + dt.timedelta(hours=hour, seconds=rng.randrange(3600))).astimezone(clock.UTC))
    received.sort()
    sims = [_case(ctx, demo_cases._weighted(rng, MODE_WEIGHTS), at, outcome) for at, outcome in zip(received, plans)]
    _repeat_callers(rng, sims)
    demo_cases._number(session, ctx, sims)
    demo_cases._write(session, sims)
    session.flush()
    first = START.date()
    dashboard.refresh_rollup(session, {first + dt.timedelta(days=i) for i in range((dt.date(2023, 8, 1) - first).days)})
