"""Demo step: the task force's instruments of July–December 2023, as the article reports them,
plus a few live items around clock.now().

- 50 risk notices (丰综治风提〔2023〕1号…50号) and 12 supervision orders (丰综治督〔2023〕1号…12号):
  most replied and closed, some replied (late, now and then), a few never answered (overdue);
  replies carry a summary and, for most, a small generated .txt attachment.
- 11 coordination meetings with 2–4 action items each (mostly done with evidence, a few still
  open and therefore overdue), and 5 monthly review meetings (July–November) with the month's
  figures attached.
- 16 bulletins, 第1期…第16期, covering 2023-07-01 to 2023-12-08 in consecutive periods.
- Live: this year's drafts, issued notices not yet due and one overdue, and a recent monthly
  review with open items (one already late), so the task force's home page has work on it.

Cases are linked only when the cases step has run (major or escalated cases received before
the instrument's date); without cases everything is still created, unlinked. Counters are set
so the next issued number follows on. Rows go in by bulk insert.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db.models import (ActionItem, Case, Counter, MediationRoom, Meeting, PoliceStation, Township, User,
                       meeting_case)
from services import clock, documents
from services.taskforce import bulletins
from services.taskforce import instruments
from services.taskforce import meetings
from services.roster import org

START, END = dt.date(2023, 7, 1), dt.date(2023, 12, 8)
TASKFORCE_NAMES = ["熊建国", "邹丽萍", "万志强", "涂春燕", "喻国华", "付晓东", "聂文静", "罗晨", "曾小梅", "肖卫东"]
RISKS = [
    "当事人多次到村委会吵闹，扬言采取过激行为，存在个人极端风险。",
    "双方家族人员较多，曾发生推搡，存在聚集械斗风险。",
    "涉及多户村民共同利益，存在群体性上访风险。",
    "欠薪涉及务工人员较多，临近年底，存在集体讨薪风险。",
    "当事人情绪低落，有轻生言语，需防范个人极端事件。",
]
REPLIES = [
    "已组织母舅、网格员和村干部再次调解，双方达成书面协议，已履行完毕，落实每日回访。",
    "已会同司法所、自然资源所现场复测边界，当事人认可测量结果，矛盾已化解。",
    "已约谈双方当事人，落实网格员包户稳控，目前情绪稳定，调解持续推进中。",
    "用工单位已足额支付欠薪，务工人员签字确认，劳资纠纷已化解。",
    "已联系心理咨询师介入疏导，亲属签订看护责任书，风险已降低。",
]
MEETING_TOPICS = [
    ("剑光街道某小区物业费纠纷协调", ["剑光街道", "市住建局", "剑光派出所", "物业公司"]),
    ("小港镇两村山林界址纠纷协调", ["小港镇", "市自然资源局", "市林业局", "小港派出所"]),
    ("河洲街道建筑工地欠薪问题协调", ["河洲街道", "市人社局", "市住建局", "河洲派出所"]),
    ("梅林镇农田灌溉用水纠纷协调", ["梅林镇", "市水利局", "市农业农村局"]),
    ("孙渡街道商铺租赁合同纠纷协调", ["孙渡街道", "市市场监管局", "市司法局"]),
    ("曲江镇宅基地建房遮挡纠纷协调", ["曲江镇", "市自然资源局", "曲江派出所"]),
    ("尚庄街道交通事故赔偿纠纷协调", ["尚庄街道", "市交警大队", "保险公司", "市司法局"]),
    ("龙津洲街道老旧小区加装电梯纠纷协调", ["龙津洲街道", "市住建局", "社区居委会"]),
    ("重大家庭矛盾纠纷个人极端风险防范协调", ["市妇联", "市民政局", "市公安局", "市卫健委"]),
    ("非警务警情“踢皮球”问题专题协调", ["市公安局", "市信访局", "12345热线中心", "各乡镇（街道）"]),
    ("岁末年初欠薪问题集中化解协调", ["市人社局", "市住建局", "市总工会", "市公安局"]),
]
TASKS = [
    ("组织双方当事人再次调解，形成书面协议", "{t}综治中心"),
    ("开展现场复核，出具书面意见", "{d}"),
    ("落实网格员每日走访稳控", "{t}综治中心"),
    ("督促责任单位限期兑付款项", "{d}"),
    ("做好当事人政策解释和法律援助", "市司法局"),
]
EVIDENCE = ["已完成，附调解协议书及回访记录。", "已出具书面意见并送达当事人。", "已落实，网格员每日走访记录在案。",
            "款项已兑付，当事人签字确认。", "已提供法律援助，当事人撤回诉求。"]


def _local(day: dt.date, hour: int = 10) -> dt.datetime:
    return clock.local_dt(day.year, day.month, day.day, hour).astimezone(clock.UTC)


def _dates(rng: random.Random, n: int, lo: dt.date, hi: dt.date) -> list[dt.date]:
    span = (hi - lo).days
    return sorted(lo + dt.timedelta(days=rng.randint(0, span)) for _ in range(n))


class _Ctx:
    def __init__(self, session: Session, rng: random.Random):
        self.session, self.rng = session, rng
        self.short = org.city(session).get("short", "丰")
        self.townships = list(session.execute(select(Township.id, Township.name).order_by(Township.code)))
        self.rooms = {r.id: r for r in session.execute(select(MediationRoom.id, MediationRoom.name,
                                                              MediationRoom.township_id))}
        self.stations = dict(session.execute(select(PoliceStation.id, PoliceStation.name)).all())
        user = session.scalar(select(User).where(User.username == "taskforce"))
        self.user_id = user.id if user else None
        self.user_name = user.display_name if user else f"专班 {TASKFORCE_NAMES[0]}"
        self.cases = list(session.execute(
            select(Case.id, Case.number, Case.township_id, Case.room_id, Case.received_at, Case.status)
            .where((Case.complexity == "major") | Case.level.in_(("township", "city", "court")))
            .order_by(Case.received_at).limit(600)))
        self.counters: dict[tuple[str, int], int] = {}

    def cases_before(self, when: dt.datetime, k: int, open_only: bool = False) -> list:
        pool = [c for c in self.cases if c.received_at < when and when - c.received_at < dt.timedelta(days=45)
                and (not open_only or c.status in ("registered", "mediating"))]
        return self.rng.sample(pool, min(k, len(pool))) if pool else []

    def serial(self, kind: str, year: int) -> int:
        self.counters[(kind, year)] = self.counters.get((kind, year), 0) + 1
        return self.counters[(kind, year)]


def _instrument_row(ctx: _Ctx, kind: str, issue_day: dt.date | None, state: str, links: list,
                    deadline_days: int, reply_after: int | None) -> dict:
    rng = ctx.rng
    first = links[0] if links else None
    tid = first.township_id if first else rng.choice(ctx.townships).id
    tname = dict((t.id, t.name) for t in ctx.townships)[tid]
    room = ctx.rooms.get(first.room_id) if first and first.room_id else None
    if kind == "risk_notice":
        addressee, subject = f"{tname}综治中心", f"{tname}矛盾纠纷激化"
    else:
        addressee = room.name if room else f"{tname}综治中心"
        subject = f"{tname}超期未办结纠纷"
    numbers = "、".join(c.number for c in links) or "专班排查发现"
    created = issue_day or clock.today()
    row = {"kind": kind, "state": state, "subject": subject, "addressee": addressee, "township_id": tid,
           "room_id": room.id if room and kind == "supervision_order" else None,
           "facts": f"涉及案件：{numbers}。经多级调处尚未彻底化解。", "risk": rng.choice(RISKS),
           "measures": "请主要负责同志亲自过问，组织母舅、网格员和相关部门再次调处，落实每日走访稳控措施，限期书面反馈。",
           "deadline": created + dt.timedelta(days=deadline_days), "contact_person": f"专班 {rng.choice(TASKFORCE_NAMES)}",
           "contact_phone": instruments.CONTACT_DEFAULT["phone"], "created_by_id": ctx.user_id,
           "created_by_name": ctx.user_name, "created_at": _local(created, 9), "updated_at": _local(created, 9),
           "reply_summary": "", "reply_filename": "", "reply_size": 0, "reply_file": None}
    if state != "draft":
        year = issue_day.year
        serial = ctx.serial(kind, year)
        row.update(year=year, serial=serial, doc_number=instruments.doc_number(kind, year, serial),
                   issue_date=issue_day, issued_at=_local(issue_day), issued_by_id=ctx.user_id,
                   issued_by_name=ctx.user_name)
    if state in ("replied", "closed"):
        reply = issue_day + dt.timedelta(days=reply_after)
        text = rng.choice(REPLIES)
        row.update(reply_date=reply, reply_summary=text, replied_at=_local(reply, 16), replied_by_name=ctx.user_name,
                   updated_at=_local(reply, 16))
        if rng.random() < 0.7:
            body = f"关于{row['doc_number']}的回复\n\n{addressee}：\n{text}\n\n{documents.format_date_cn(reply)}\n"
            data = body.encode("utf-8")
            row.update(reply_file=data, reply_filename=f"回复_{row['doc_number']}.txt", reply_size=len(data))
    if state == "closed":
        closed = issue_day + dt.timedelta(days=reply_after + rng.randint(1, 5))
        row.update(closed_at=_local(closed, 17), close_note="经回访核实，风险已化解。", updated_at=_local(closed, 17))
    return row


def _history(ctx: _Ctx, kind: str, n: int, states: list[str]) -> tuple[list[dict], list[list[int]]]:
    rows, links = [], []
    for day, state in zip(_dates(ctx.rng, n, START + dt.timedelta(days=9), END - dt.timedelta(days=2)), states):
        linked = ctx.cases_before(_local(day), ctx.rng.choice((1, 1, 1, 2)))
        late = ctx.rng.random() < 0.15
        deadline_days = 7 if kind == "risk_notice" else 5
        reply_after = deadline_days + ctx.rng.randint(1, 4) if late else ctx.rng.randint(2, deadline_days)
        rows.append(_instrument_row(ctx, kind, day, state, linked, deadline_days, reply_after))
        links.append([c.id for c in linked])
    return rows, links


def _states(rng: random.Random, n: int, overdue: int, replied: int) -> list[str]:
    states = ["issued"] * overdue + ["replied"] * replied + ["closed"] * (n - overdue - replied)
    rng.shuffle(states)
    return states


def _live_instruments(ctx: _Ctx) -> tuple[list[dict], list[list[int]]]:
    today = clock.today()
    plan = [("risk_notice", None, "draft", 7), ("risk_notice", None, "draft", 7),
            ("risk_notice", today - dt.timedelta(days=12), "issued", 7),  # overdue now
            ("risk_notice", today - dt.timedelta(days=2), "issued", 7),
            ("risk_notice", today - dt.timedelta(days=1), "issued", 5),
            ("supervision_order", None, "draft", 5), ("supervision_order", today - dt.timedelta(days=3), "issued", 5)]
    rows, links = [], []
    for kind, day, state, days in plan:
        linked = ctx.cases_before(clock.now(), 1, open_only=True)
        rows.append(_instrument_row(ctx, kind, day, state, linked, days, None))
        links.append([c.id for c in linked])
    return rows, links


def _set_counters(session: Session, counters: dict[tuple[str, int], int]) -> None:
    for (kind, year), value in sorted(counters.items()):
        row = session.scalar(select(Counter).where(Counter.kind == kind, Counter.year == year))
        if row is None:
            session.execute(insert(Counter), [{"kind": kind, "year": year, "value": value}])
        else:
            session.execute(update(Counter).where(Counter.id == row.id).values(value=max(row.value, value)))


def _meeting_rows(ctx: _Ctx, day: dt.date, kind: str, topic: str, units: list[str], figures=None,
                  period=(None, None)) -> dict:
    rng = ctx.rng
    return {"kind": kind, "held_on": day, "place": "市综治中心三楼会议室", "convened_by": f"专班 {TASKFORCE_NAMES[0]}",
            "topic": topic, "attending_units": units,
            "attendees": rng.sample(TASKFORCE_NAMES, 3) + [f"{u}负责同志" for u in units[:2]],
            "decisions": "会议明确了责任单位和完成时限，由专班跟踪督办，逐项销号。", "figures": figures,
            "period_start": period[0], "period_end": period[1], "created_by_id": ctx.user_id,
            "created_by_name": ctx.user_name, "created_at": _local(day, 17), "updated_at": _local(day, 17)}


def _items(ctx: _Ctx, day: dt.date, units: list[str], open_share: float, today: dt.date) -> list[dict]:
    rng = ctx.rng
    out = []
    for task, unit in rng.sample(TASKS, rng.randint(2, 4)):
        deadline = day + dt.timedelta(days=rng.randint(5, 20))
        is_open = rng.random() < open_share or deadline >= today
        done_on = min(deadline - dt.timedelta(days=rng.randint(0, 3)), today)
        out.append({"task": task, "responsible_unit": unit.format(t=units[0], d=units[1] if len(units) > 1 else units[0]),
                    "deadline": deadline, "status": "open" if is_open else "done",
                    "evidence": "" if is_open else rng.choice(EVIDENCE), "done_on": None if is_open else done_on,
                    "done_by_name": "" if is_open else ctx.user_name,
                    "updated_at": _local(done_on if not is_open else day, 17)})
    return out


def _meetings(ctx: _Ctx) -> None:
    session, rng = ctx.session, ctx.rng
    today = clock.today()
    plans = []  # (meeting row, items, case ids)
    for (topic, units), day in zip(MEETING_TOPICS, _dates(rng, len(MEETING_TOPICS), dt.date(2023, 7, 15), END)):
        linked = ctx.cases_before(_local(day), rng.randint(1, 3))
        plans.append((_meeting_rows(ctx, day, "coordination", topic, units), _items(ctx, day, units, 0.12, today),
                      [c.id for c in linked]))
    for month in range(7, 12):
        start = dt.date(2023, month, 1)
        end = dt.date(2023, month + 1, 1) - dt.timedelta(days=1)
        day = end + dt.timedelta(days=rng.randint(3, 6))
        figures = bulletins.period_figures(session, start, end)
        units = ["市委政法委", "市公安局", "各乡镇（街道）综治中心"]
        plans.append((_meeting_rows(ctx, day, "monthly_review", f"{month}月非警务警情联动处置月度例会", units, figures,
                                    (start, end)), _items(ctx, day, units, 0.0, today), []))
    # live: last month's review, held a few days ago, items still open (one already late)
    last_end = today.replace(day=1) - dt.timedelta(days=1)
    held = max(today - dt.timedelta(days=4), last_end + dt.timedelta(days=1))
    units = ["市委政法委", "市公安局", "各乡镇（街道）综治中心"]
    live_items = [{"task": t, "responsible_unit": u, "deadline": d, "status": "open", "evidence": "", "done_on": None,
                   "done_by_name": "", "updated_at": _local(held, 17)} for t, u, d in (
        ("对超期未回复风险提示函的单位开展约谈", "市委政法委", today - dt.timedelta(days=1)),
        ("梳理上月重大纠纷，逐案落实包案领导", "各乡镇（街道）综治中心", today + dt.timedelta(days=5)),
        ("核对110非警务警情分流数据", "市公安局", today + dt.timedelta(days=10)))]
    plans.append((_meeting_rows(ctx, held, "monthly_review", f"{last_end.month}月非警务警情联动处置月度例会", units,
                                bulletins.period_figures(session, last_end.replace(day=1), last_end),
                                (last_end.replace(day=1), last_end)), live_items,
                  [c.id for c in ctx.cases_before(clock.now(), 2, open_only=True)]))
    ids = list(session.scalars(insert(Meeting).returning(Meeting.id, sort_by_parameter_order=True),
                               [p[0] for p in plans]))
    items = [{**it, "meeting_id": mid} for mid, p in zip(ids, plans) for it in p[1]]
    session.execute(insert(ActionItem), items)
    pairs = [{"meeting_id": mid, "case_id": cid} for mid, p in zip(ids, plans) for cid in dict.fromkeys(p[2])]
    if pairs:
        session.execute(insert(meeting_case), pairs)
    meetings.assign_serials(session)  # the minutes' 期号, in date order, as if recorded one by one


def _bulletins(ctx: _Ctx) -> None:
    session = ctx.session
    days = (END - START).days + 1
    rows = []
    for n in range(16):
        start = START + dt.timedelta(days=days * n // 16)
        end = START + dt.timedelta(days=days * (n + 1) // 16 - 1)
        issued = end + dt.timedelta(days=2)
        snap = bulletins.snapshot(session, start, end)
        snap["commentary"] = ("个别乡镇（街道）对风险提示函回复不及时，少数调解室回访记录不完整，"
                              "重大纠纷包案化解仍需加力。")
        snap["next_steps"] = "继续压实母舅驻所、住村调解责任，对超期未回复单位约谈通报，持续提升调解成功率和群众满意率。"
        rows.append({"issue_no": n + 1, "state": "issued", "title": bulletins.default_title(start, end),
                     "period_start": start, "period_end": end, **snap, "created_by_id": ctx.user_id,
                     "created_by_name": ctx.user_name, "created_at": _local(end + dt.timedelta(days=1), 9),
                     "issued_at": _local(issued), "issue_date": issued, "issued_by_name": ctx.user_name,
                     "updated_at": _local(issued)})
    bulletins.bulk_insert(session, rows)
    _set_counters(session, {bulletins.SEQUENCE: 16})


def load(session: Session, rng: random.Random) -> None:
    """Demo step (after the cases step): instruments, meetings and bulletins."""
    ctx = _Ctx(session, rng)
    notices, notice_links = _history(ctx, "risk_notice", 50, _states(rng, 50, overdue=4, replied=5))
    orders, order_links = _history(ctx, "supervision_order", 12, _states(rng, 12, overdue=1, replied=2))
    live, live_links = _live_instruments(ctx)
    rows, links = notices + orders + live, notice_links + order_links + live_links
    keys = set().union(*(r.keys() for r in rows))
    blank = {"close_note": "", "replied_by_name": "", "issued_by_name": ""}
    rows = [{k: r.get(k, blank.get(k)) for k in keys} for r in rows]  # one shape for the bulk insert
    instruments.bulk_insert(session, rows, list(enumerate(links)))
    _set_counters(session, ctx.counters)
    _meetings(ctx)
    _bulletins(ctx)
    session.flush()
