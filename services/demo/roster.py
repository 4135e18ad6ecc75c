"""Demo step: departments and their people, the duty calendar, and a handful of stays.

Duty calendar: every township, each night of the demo cases' period (2023-06-25..2023-12-10)
and of the four weeks around today (clock.now() − 14 .. + 14 days), rotating the township's
three duty cadres. Exactly one night in the coming week is left empty (the first station-mode
township, three nights from tonight) so the duty page's gap warning has something to show.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import Case, Department, DutyShift, GovernanceCentre, MediationRoom, Mediator, Rotation, Township
from services import clock
from services.roster import duty

DEMO_PERIOD = (dt.date(2023, 6, 25), dt.date(2023, 12, 10))
GAP_OFFSET_DAYS = 3  # the deliberate gap: tonight + 3

_SURNAMES = "熊刘邓黄徐万胡杨李陈吴周涂晏付罗"
_GIVEN = ("建华", "志强", "丽萍", "国平", "晓东", "春花", "文斌", "海燕", "小军", "明亮", "红梅", "卫东")
# department, unit: "township" (township-level office) or "city" (the city bureau, at the city centre)
_DEPT_PEOPLE = [("司法所", "township"), ("司法所", "township"), ("人社局", "city"), ("人社局", "city"),
                ("住建局", "city"), ("住建局", "city"), ("市场监管局", "city"), ("市场监管局", "city"),
                ("自然资源局", "city"), ("自然资源局", "city"), ("信访局", "city"), ("信访局", "township")]


def on_duty(team: list, night: dt.date, township_index: int):
    """The demo's rotation: a township's cadres (by code) take the nights in turn."""
    return team[(night.toordinal() + township_index) % len(team)]


def _nights(today: dt.date) -> list[dt.date]:
    days = set()
    d = DEMO_PERIOD[0]
    while d <= DEMO_PERIOD[1]:
        days.add(d)
        d += dt.timedelta(days=1)
    for i in range(-14, 15):
        days.add(today + dt.timedelta(days=i))
    return sorted(days)


def gap_night(session: Session) -> tuple[int, dt.date]:
    """(township id, night) of the deliberate gap."""
    tid = session.scalar(select(Township.id).where(Township.mode == "station").order_by(Township.code))
    return tid, duty.night_of(session, clock.now()) + dt.timedelta(days=GAP_OFFSET_DAYS)


def load(session: Session, rng: random.Random) -> None:
    now = clock.now()
    today = clock.today()
    tonight = duty.night_of(session, now)

    # departments and their people
    depts = list(duty.DEFAULT_DEPARTMENTS)
    session.execute(insert(Department), [{"name": n, "sort_order": i, "active": True} for i, n in enumerate(depts)])
    dept_ids = dict(session.execute(select(Department.name, Department.id)).all())
    city_centre = session.scalar(select(GovernanceCentre.id).where(GovernanceCentre.level == "city"))
    towns = list(session.execute(select(Township.id, Township.mode).order_by(Township.code)))
    people = []
    for i, (dept, unit) in enumerate(_DEPT_PEOPLE, start=1):
        phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        people.append({
            "code": f"MD{i:03d}", "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN), "kind": "department",
            "phone": phone, "room_id": None, "centre_id": city_centre if unit == "city" else None,
            "township_id": towns[i % len(towns)][0] if unit == "township" else None, "department": dept,
            "specialties": {"司法所": ["neighbor", "family"], "人社局": ["wage"], "住建局": ["property"],
                            "市场监管局": ["consumer"], "自然资源局": ["land"], "信访局": ["other"]}[dept],
            "background": "", "note": "演示数据", "active": True, "active_from": dt.date(2023, 6, 1), "active_to": None})
    session.execute(insert(Mediator), people)
    dept_people = list(session.execute(select(Mediator.id, Mediator.department).where(Mediator.kind == "department")
                                       .order_by(Mediator.code)))

    # duty calendar
    cadres: dict[int, list[int]] = {}
    for mid, tid in session.execute(select(Mediator.id, Mediator.township_id)
                                    .where(Mediator.kind == "duty_cadre", Mediator.active.is_(True))
                                    .order_by(Mediator.code)):
        cadres.setdefault(tid, []).append(mid)
    gap_tid, gap_date = gap_night(session)
    rows = []
    for n, (tid, _mode) in enumerate(towns):
        team = cadres.get(tid)
        if not team:
            continue
        for d in _nights(today):
            if tid == gap_tid and d == gap_date:
                continue
            rows.append({"township_id": tid, "duty_date": d, "mediator_id": on_duty(team, d, n),
                         "note": ""})
    session.execute(insert(DutyShift), rows)

    # stays: rotating (轮驻) in station rooms, some now, one upcoming, some in 2023; two on-demand (随驻) on cases
    rooms = list(session.scalars(select(MediationRoom.id).where(MediationRoom.kind == "station")
                                 .order_by(MediationRoom.code)))
    spans = [(tonight - dt.timedelta(days=10), tonight + dt.timedelta(days=20)),
             (tonight - dt.timedelta(days=3), tonight + dt.timedelta(days=27)),
             (tonight - dt.timedelta(days=20), None),
             (tonight + dt.timedelta(days=7), tonight + dt.timedelta(days=37)),
             (dt.date(2023, 7, 1), dt.date(2023, 8, 31)),
             (dt.date(2023, 9, 1), dt.date(2023, 10, 31))]
    stays = []
    for i, (start, end) in enumerate(spans):
        mid, dept = dept_people[i % len(dept_people)]
        stays.append({"department_id": dept_ids[dept], "mediator_id": mid, "mode": "rotating",
                      "room_id": rooms[i % len(rooms)], "case_id": None, "start_date": start, "end_date": end,
                      "note": "演示：定期轮驻", "created_by_id": None, "created_at": now})
    case_rows = list(session.execute(select(Case.id, Case.received_at).where(Case.complexity.in_(("general", "major")))
                                     .order_by(Case.received_at.desc()).limit(2)))
    for j, (case_id, received) in enumerate(case_rows):
        mid, dept = dept_people[6 + j]
        stays.append({"department_id": dept_ids[dept], "mediator_id": mid, "mode": "on_demand", "room_id": None,
                      "case_id": case_id, "start_date": clock.local(received).date(), "end_date": None,
                      "note": "演示：按需随驻", "created_by_id": None, "created_at": now})
    for k in range(len(case_rows), 2):  # no demo cases: two more past rotations instead
        mid, dept = dept_people[8 + k]
        stays.append({"department_id": dept_ids[dept], "mediator_id": mid, "mode": "rotating",
                      "room_id": rooms[(10 + k) % len(rooms)], "case_id": None,
                      "start_date": dt.date(2023, 11, 1), "end_date": dt.date(2023, 11, 30),
                      "note": "演示：定期轮驻", "created_by_id": None, "created_at": now})
    session.execute(insert(Rotation), stays)
