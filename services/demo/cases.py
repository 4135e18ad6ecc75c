"""Demo cases: the closed loop of July–December 2023 as the article reports it, plus live cases.

Historical set (docs/background.md, the article's figures): 4,956 cases received 2023-07-01 to
2023-12-08 (Beijing time); 3,299 station mode (驻所) and 1,657 village mode (住村); 2,348
handed to the station rooms; 98.5% eventually settled, the rest terminated or guided to the
courts; every settled case followed up (a few dissatisfied, reopened and settled again) and
closed.

Live set, relative to clock.now(): a few dozen open cases at every level of both ladders
(some overdue, some with overdue arrivals) and ~15 settled cases awaiting their follow-up,
numbered in the current year's sequence. The demo mediator accounts each have open cases.

Every row is what services.cases.workflow.transition() would have written: a small simulator
(`_Sim`) applies each move through services.cases.ladder.check_move, stamps level/status/due
times and the version the same way, and appends the CaseEvent. Rows go in by bulk insert.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from db.models import (Case, CaseEvent, Counter, Dispatch, DisputeCategory, Grid, MediationRoom, Mediator, FollowUp,
                       Party, Township, User, Village)
from services import clock, numbering
from services.cases import case_state
from services.roster import duty
from services.cases import ladder
from services.roster import org
from services.demo import roster as demo_roster
from services.validation import id_check_digit

WINDOW_START = clock.local_dt(2023, 7, 1)
WINDOW_END = clock.local_dt(2023, 12, 9)  # exclusive: up to and including 2023-12-08

# Path counts (levels visited → outcome), shaped on the article's figures.
# station: 3,299 cases, 2,348 reach the station room, station-room success 98.5%.
STATION_PATHS = {
    (("onsite",), "settle"): 933,
    (("onsite",), "terminate"): 18,
    (("onsite", "station_room"), "settle"): 2250,
    (("onsite", "station_room"), "terminate"): 16,
    (("onsite", "station_room", "city"), "settle"): 63,
    (("onsite", "station_room", "city"), "terminate"): 5,
    (("onsite", "station_room", "city", "court"), "litigate"): 14,
}
VILLAGE_PATHS = {
    (("onsite",), "settle"): 903,
    (("onsite",), "terminate"): 10,
    (("onsite", "village_room"), "settle"): 667,
    (("onsite", "village_room"), "terminate"): 7,
    (("onsite", "village_room", "township"), "settle"): 56,
    (("onsite", "village_room", "township"), "terminate"): 2,
    (("onsite", "village_room", "township", "city"), "settle"): 8,
    (("onsite", "village_room", "township", "city"), "terminate"): 1,
    (("onsite", "village_room", "township", "city", "court"), "litigate"): 3,
}
REOPEN_SHARE = 0.008  # follow-ups answered 不满意 → reopened, settled again
ARRIVAL_LATE, ARRIVAL_MISSING = 0.035, 0.005

SOURCE_WEIGHTS = {"110": 55, "12345": 25, "grid": 9, "walk_in": 7, "self": 4}
CATEGORY_WEIGHTS = {"neighbor": 30, "family": 22, "land": 12, "wage": 8, "consumer": 7, "property": 6,
                    "traffic": 6, "debt": 6, "other": 3}
HOUR_WEIGHTS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 7, 7, 8, 9, 9, 8, 5, 3]
TASKFORCE_NAMES = ["熊建国", "邹丽萍", "万志强", "涂春燕", "喻国华", "付晓东", "聂文静", "罗晨", "曾小梅", "肖卫东"]

SURNAMES = ("熊杨李王张刘陈黄周吴徐邹万胡涂晏龚喻付聂罗邓彭曾肖朱袁谢傅余卢钟廖游艾梁雷蔡程丁甘帅敖")
GIVEN = ("国建华明伟芳丽军平红英秀兰志强文斌春梅桂香金水根生发福东海燕玲勇杰辉霞娟德林小云凤荣")
ROADS = ["新城大道", "剑南路", "龙津大道", "紫云大道", "玉龙路", "府前路", "河洲街", "蓝天路", "商城路", "沿江路"]
ID_REGIONS = ["360981", "360981", "360981", "360902", "360983", "362202"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "173", "175", "177", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "191", "198", "199"]

DESCRIPTIONS = {
    "neighbor": ["两户因宅基地边界发生争执，双方情绪激动", "{a}家装修噪音影响邻居休息，双方发生口角",
                 "邻居排水沟渠堵塞导致{a}家院落积水，双方互不相让", "楼上漏水浸泡楼下天花板，双方就维修费用产生纠纷",
                 "两家因门前公共通道堆放杂物发生推搡", "因建房遮挡采光，{a}家与邻居发生争吵"],
    "family": ["夫妻因家庭琐事发生争吵，女方报警求助", "兄弟之间因赡养老人费用分摊产生矛盾",
               "婆媳因照看小孩问题长期不和，今日再次争吵", "离婚后双方因子女抚养费支付问题发生纠纷",
               "{a}家兄弟因分家析产发生争执", "夫妻因一方沉迷打牌发生激烈争吵"],
    "land": ["两组村民因山林界址不清发生争执", "因承包田灌溉用水分配发生纠纷", "村民在争议地块上种植作物，引发双方冲突",
             "因土地流转租金未按期支付产生纠纷", "祖坟周边山地权属不清，两家发生争执"],
    "wage": ["{n}名务工人员反映某工地拖欠工资约{amount}元", "装修工人与雇主因工钱结算发生争执",
             "员工离职后被扣发工资约{amount}元，与老板发生纠纷", "临时工在务工中受轻伤，就误工费与雇主产生分歧"],
    "consumer": ["顾客在某超市购买到过期食品，要求赔偿", "消费者与某餐馆因账单金额发生争执",
                 "购买的电动车出现质量问题，商家拒绝退换", "预付卡商家停业，消费者要求退还余款约{amount}元"],
    "property": ["业主与物业因停车管理收费发生争执", "小区电梯长期故障，业主与物业公司产生矛盾",
                 "物业催缴物业费，业主以服务不到位为由拒缴", "小区绿化带被占用种菜，业主与物业发生争执"],
    "traffic": ["两车轻微剐蹭，双方对责任认定有分歧", "电动车与行人相撞致轻微伤，双方就赔偿金额争执",
                "车辆倒车时碰撞路边摊位，摊主要求赔偿", "农用车与摩托车碰撞，双方就修车费用发生纠纷"],
    "debt": ["朋友间借款{amount}元到期未还，双方发生争执", "生意往来货款{amount}元拖欠未付",
             "亲戚间借款纠纷，出借人上门讨要发生争吵", "合伙经营散伙后就分账问题产生纠纷"],
    "other": ["宠物狗咬伤他人引发纠纷", "婚宴场地预订退订产生纠纷", "广场舞音响噪音扰民引发纠纷",
              "快递包裹丢失，收件人与快递网点发生争执"],
}
AGREEMENTS = {
    "neighbor": ["双方明确界址，各自退让，当场握手言和", "双方互相谅解，赔礼道歉，约定今后互不干扰",
                 "由{r}负责修复排水设施，双方和好"],
    "family": ["双方各自反省，约定今后互相体谅，不再争吵", "兄弟约定按月分摊赡养费，轮流照顾老人",
               "双方就子女抚养费达成一致，按月支付"],
    "land": ["双方在村干部见证下重新确认界址，签订协议", "约定用水轮灌时间，双方认可", "承租方限期补交租金，双方签字确认"],
    "wage": ["用工方同意分期支付拖欠工资", "双方核对工日后一次性结清工钱"],
    "consumer": ["商家退货退款并赔礼道歉", "商家同意按规定赔偿，消费者认可"],
    "property": ["物业承诺限期整改，业主补缴物业费", "双方就停车收费标准达成一致"],
    "traffic": ["双方认可责任划分，由{r}一次性赔偿", "双方协商各自承担修车费用"],
    "debt": ["约定分期还款，签订还款协议", "债务人当场归还部分欠款，余款约定期限内还清"],
    "other": ["双方互相谅解，达成和解", "责任方赔礼道歉并给予适当补偿"],
}
AMOUNT_CATEGORIES = {"wage": 1.0, "traffic": 0.9, "debt": 1.0, "consumer": 0.7, "property": 0.3, "neighbor": 0.15,
                     "family": 0.1, "land": 0.3, "other": 0.3}
TERMINATE_NOTES = {
    "withdrawn": "当事人表示自行协商解决，申请撤回调解",
    "not_dispute": "经核实不属于矛盾纠纷，已作说明解释",
    "other_authority": "涉及行政执法事项，已移交相关职能部门处理",
}
LANDMARKS = ["村委会附近", "菜市场旁", "小组晒谷场", "路口商店门前", "小学门口", "组内道路旁"]


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _minutes(rng: random.Random, lo: float, hi: float) -> dt.timedelta:
    return dt.timedelta(minutes=rng.uniform(lo, hi))


def _trim(t: dt.datetime) -> dt.datetime:
    return t.replace(microsecond=0)


class _Ctx:
    """Look-ups for the generators, read once."""

    def __init__(self, session: Session, rng: random.Random):
        self.rng = rng
        self.limits = case_state.Limits.of(session)
        self.open_h, self.close_h = duty.station_hours(session)
        city = org.city(session)
        self.city_short, self.city_name = city.get("short", "丰"), city.get("name", "丰城市")
        self.court = f"{self.city_name}人民法院"
        self.cats = {c.code: c.id for c in session.scalars(select(DisputeCategory).where(DisputeCategory.active.is_(True)))}
        self.towns = {t.id: t for t in session.scalars(select(Township).order_by(Township.code))}
        self.town_index = {tid: n for n, tid in enumerate(self.towns)}
        villages = list(session.scalars(select(Village).order_by(Village.code)))
        self.villages = {v.id: v for v in villages}
        self.grids: dict[int, list[Grid]] = {}
        for g in session.scalars(select(Grid).order_by(Grid.code)):
            self.grids.setdefault(g.village_id, []).append(g)
        rooms = list(session.scalars(select(MediationRoom).order_by(MediationRoom.code)))
        self.station_room_of_ps = {r.police_station_id: r for r in rooms if r.kind == "station"}
        self.village_room_of = {r.village_id: r for r in rooms if r.kind == "village"}
        people = list(session.scalars(select(Mediator).where(Mediator.active.is_(True)).order_by(Mediator.code)))
        self.room_people: dict[int, list[Mediator]] = {}
        self.cadres: dict[int, list[Mediator]] = {}
        for m in people:
            if m.kind in ("station", "village") and m.room_id:
                self.room_people.setdefault(m.room_id, []).append(m)
            elif m.kind == "duty_cadre" and m.township_id:
                self.cadres.setdefault(m.township_id, []).append(m)
        self.brands = [m for m in people if m.kind == "city_brand"]
        self.lawyers = [m for m in people if m.kind == "lawyer"]
        self.station_places = [v for v in villages if self.towns[v.township_id].mode == "station"]
        self.village_places = [v for v in villages if v.id in self.village_room_of]
        # urban townships differ in size: a fixed weight per township
        self.town_weight = {t.id: rng.uniform(0.6, 1.6) for t in self.towns.values()}
        users = {u.username: u for u in session.scalars(select(User))}
        self.users = users

        def who(username: str, role: str):
            u = users.get(username)
            return (u.id if u else None, username, role)

        self.staff = who("staff", "staff")
        self.taskforce = who("taskforce", "taskforce")
        demo_station = next((m for m in people if m.kind == "station"), None)
        demo_village = next((m for m in people if m.kind == "village"), None)
        self.demo_station, self.demo_village = demo_station, demo_village
        self.account_of = {}
        if demo_station is not None:
            self.account_of[demo_station.id] = who("mediator", "mediator")
        if demo_village is not None:
            self.account_of[demo_village.id] = who("village", "mediator")
        self.mobiles: set[str] = {m.phone for m in people}
        self.incident_seq: dict[str, int] = {}
        self.order_seq: dict[str, int] = {}
        self.city_dispatches = 0  # cases given city-level dispatches so far (_city_dispatch)

    def mediator_actor(self, m: Mediator | None):
        if m is None:
            return self.staff
        return self.account_of.get(m.id, (None, m.name, "mediator"))

    def after_hours(self, at: dt.datetime) -> bool:
        return duty.closed_at(at, (self.open_h, self.close_h))

    def cadre_for(self, township_id: int, at: dt.datetime) -> Mediator | None:
        """The township's duty cadre for the night containing `at`. Same rotation as the duty
        calendar of services.demo.roster: cadres by code, (night ordinal + township index) mod n."""
        cadres = self.cadres.get(township_id) or []
        if not cadres:
            return None
        return demo_roster.on_duty(cadres, duty.night_began(at, self.open_h), self.town_index[township_id])

    # ---- fake people
    def mobile(self) -> str:
        while True:
            m = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if m not in self.mobiles:
                self.mobiles.add(m)
                return m

    def name(self) -> str:
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    def id_card(self) -> str:
        rng = self.rng
        birth = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(365 * 59))
        first17 = f"{rng.choice(ID_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        return first17 + id_check_digit(first17)

    def police_no(self, at: dt.datetime) -> str:
        day = f"{clock.local(at):%Y%m%d}"
        self.incident_seq[day] = self.incident_seq.get(day, 0) + 1
        return f"J360981{day}{self.incident_seq[day]:04d}"

    def order_no(self, at: dt.datetime) -> str:
        day = f"{clock.local(at):%Y%m%d}"
        self.order_seq[day] = self.order_seq.get(day, 0) + 1
        return f"GD{day}{self.order_seq[day]:05d}"


class _Sim:
    """One case built move by move through services.cases.case_state.apply, the state change that
    services.cases.workflow.transition() writes: only the storing differs (rows for a bulk insert)."""

    def __init__(self, ctx: _Ctx, row: dict):
        self.ctx = ctx
        self.row = row
        self.events: list[dict] = []
        self.dispatches: list[dict] = []
        self.follow_ups: list[dict] = []
        self.parties: list[dict] = []
        self.paper: dict = {"terms": [], "sessions": [], "confirmations": []}  # see _keep_paper

    @property
    def state(self) -> tuple[str, str]:
        return self.row["level"], self.row["status"]

    def _event(self, at, who, action, before, note="", **detail):
        self.events.append({"at": _trim(at), "user_id": who[0], "username": who[1], "role": who[2],
                            "action": action, "from_level": before[0], "to_level": self.row["level"],
                            "from_status": before[1], "to_status": self.row["status"], "note": note,
                            "detail": detail})

    def register(self, at, who, note=""):
        r = self.row
        at = _trim(at)
        r.update(case_state.registered(at, self.ctx.limits), created_at=at, updated_at=at, created_by_id=who[0],
                 version=1)
        self._event(at, who, "register", (None, None), note, source=r["source"], mode=r["mode"], room_id=r["room_id"])

    def move(self, at, who, action, note="", **payload):
        """Apply one row of the MOVES table at `at` (the demo's "now" for that step)."""
        r = self.row
        at = _trim(at)
        state = {**r, "waiting_dispatches": sum(1 for d in self.dispatches if d["arrived_at"] is None)}
        out = case_state.apply(state, action, {**payload, "note": note, "at": at}, at, self.ctx.limits)
        r.update(out.changes)
        r["version"] += 1
        for d in out.dispatches:
            self.dispatches.append({**d, "arrived_at": None, "note": ""})
        if out.follow_up is not None:
            self.follow_ups.append({**out.follow_up, "by_user_id": who[0]})
        if out.arrival is not None:
            self.dispatches[out.arrival["dispatch_id"]]["arrived_at"] = out.arrival["arrived_at"]
        if out.extra:
            _keep_paper(self, out.extra, at, who)
        self._event(at, who, out.rule.action, out.before, out.note, **out.detail)


# ---------------------------------------------------------------- building blocks
def _new_row(ctx: _Ctx, mode: str, village: Village, received: dt.datetime, cat_code: str, complexity: str) -> dict:
    rng = ctx.rng
    town = ctx.towns[village.township_id]
    source = _weighted(rng, SOURCE_WEIGHTS)
    grid = rng.choice(ctx.grids[village.id]) if ctx.grids.get(village.id) else None
    if mode == "village":
        room = ctx.village_room_of[village.id]
        after_hours = False
    else:
        room = ctx.station_room_of_ps.get(town.police_station_id)
        after_hours = ctx.after_hours(received)
    amount = f"{rng.randrange(8, 400) * 100:,}"
    desc = rng.choice(DESCRIPTIONS.get(cat_code, DESCRIPTIONS["other"]))
    desc = desc.format(a=rng.choice(SURNAMES), n=rng.randrange(2, 12), amount=amount)
    desc = f"{town.name}{village.name}：{desc}。"
    if source == "110":
        desc = "110 转来：" + desc
    elif source == "12345":
        desc = "12345 热线工单：" + desc
    return {
        "number": "", "source": source,
        "police_incident_no": ctx.police_no(received) if source == "110" else None,
        "police_officer": ctx.name() if source == "110" else "",
        "police_station_id": town.police_station_id if source == "110" else None,
        "hotline_order_no": ctx.order_no(received) if source == "12345" else None,
        "received_at": _trim(received), "township_id": town.id, "village_id": village.id,
        "grid_id": grid.id if grid else None,
        "address": f"{town.name}{village.name}{rng.choice(LANDMARKS)}",
        "category_id": ctx.cats.get(cat_code) or next(iter(ctx.cats.values())), "complexity": complexity,
        "description": desc, "mode": mode, "room_id": room.id if room else None, "after_hours": after_hours,
        "route_overridden": False, "route_note": "", "level": "onsite", "status": "registered",
        "level_entered_at": None, "level_due_at": None, "current_mediator_id": None,
        "first_notified_at": None, "arrival_due_at": None, "first_arrival_at": None,
        "police_arrived_at": None, "police_handover_at": None, "settled_at": None, "settled_level": None,
        "agreement_summary": "", "agreement_amount": None, "ended_at": None, "end_reason_code": "",
        "end_reason": "", "court_name": "", "follow_up_due_at": None, "followed_up_at": None, "satisfaction": None,
        "closed_at": None, "reopen_count": 0, "created_by_id": None, "created_at": None, "updated_at": None,
        "version": 1, "agreement_copies": None, "agreement_effective_on": None, "judicial_intent": False,
        "judicial_status": None,
        "_grid_worker": grid.grid_worker_id if grid else None, "_cat": cat_code,
    }


def _parties(ctx: _Ctx, sim: _Sim, village: Village) -> None:
    rng = ctx.rng
    town = ctx.towns[village.township_id]
    n = rng.choices((1, 2, 3), weights=(20, 65, 15))[0]
    for i in range(n):
        if town.mode == "station" and village.kind == "社区":
            address = f"{town.name}{rng.choice(ROADS)}{rng.randrange(1, 300)}号{rng.randrange(1, 12)}栋{rng.randrange(1, 6)}0{rng.randrange(1, 4)}室"
        else:
            address = f"{town.name}{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
        sim.parties.append({"name": ctx.name(), "role": ("applicant", "respondent", "other")[i], "mobile": ctx.mobile(),
                            "id_card": ctx.id_card() if rng.random() < 0.4 else None,
                            "address": address if rng.random() < 0.85 else ""})


def _room_mediator(ctx: _Ctx, room_id: int | None, cat_code: str, prefer: Mediator | None = None) -> Mediator | None:
    people = ctx.room_people.get(room_id) or []
    if prefer is not None and prefer in people:
        return prefer
    if not people:
        return None
    matching = [m for m in people if cat_code in (m.specialties or [])]
    pool = matching if matching and ctx.rng.random() < 0.7 else people
    return ctx.rng.choice(pool)


def _open_on_site(ctx: _Ctx, sim: _Sim, arrival: str = "ontime", room_mediator: Mediator | None = None,
                  stop_after_register: bool = False, now: dt.datetime | None = None) -> dt.datetime:
    """Register, dispatch, arrivals and (110) police handover. Returns when mediation on site starts."""
    rng, r = ctx.rng, sim.row
    R = r["received_at"]
    police_at = R + _minutes(rng, 6, 18) if r["source"] == "110" else None
    if police_at is not None and r["mode"] == "station":
        registered = police_at + _minutes(rng, 1, 3)  # police judge it non-police, then notify
    else:
        registered = R + _minutes(rng, 1, 6)
    notified = registered + _minutes(rng, 1, 4)
    sim.register(registered, ctx.staff, r["route_note"])
    if stop_after_register:
        return registered
    med = _room_mediator(ctx, r["room_id"], r["_cat"], room_mediator)
    people = []
    if r["_grid_worker"]:
        people.append((r["_grid_worker"], "grid_worker"))
    if r["mode"] == "station" and r["after_hours"]:
        cadre = ctx.cadre_for(r["township_id"], R)
        if cadre is not None:
            people.append((cadre.id, "duty_cadre"))
    if med is not None:
        people.append((med.id, med.kind))
    sim.move(notified, ctx.staff, "dispatch", people=people)
    r["_mediator"] = med
    timeline: list[tuple] = []
    if arrival != "missing":
        for i, d in enumerate(sim.dispatches):
            lo, hi = (2, 14.5) if arrival == "ontime" else (16, 45)
            at = _trim(d["notified_at"] + _minutes(rng, lo, hi))
            if now is None or at <= now:
                timeline.append((at, "arrive", i))
    if police_at is not None:
        handover = _trim(police_at + _minutes(rng, 15, 25))
        if now is None or handover < now:
            timeline.append((handover, "police", _trim(police_at)))
    timeline.sort(key=lambda x: (x[0], x[1]))
    for at, kind, extra in timeline:
        if kind == "arrive":
            d = sim.dispatches[extra]
            sim.move(at, ctx.staff, "arrive", dispatch_id=extra, arrived_at=at,
                     dispatch={"id": extra, "notified_at": d["notified_at"], "due_at": d["due_at"]})
        else:
            sim.move(at, ctx.staff, "police", police_arrived_at=extra, police_handover_at=at)
    last = max([notified] + [t[0] for t in timeline])
    return last


def _level_actor(ctx: _Ctx, sim: _Sim, level: str):
    if level in ("onsite", "station_room", "village_room"):
        return ctx.mediator_actor(sim.row.get("_mediator"))
    return ctx.staff


def _level_person(ctx: _Ctx, sim: _Sim, level: str) -> int | None:
    r, rng = sim.row, ctx.rng
    if level in ("station_room", "village_room"):
        med = _room_mediator(ctx, r["room_id"], r["_cat"], r.get("_mediator"))
        r["_mediator"] = med
        return med.id if med else None
    if level == "township":
        cadres = ctx.cadres.get(r["township_id"]) or []
        return rng.choice(cadres).id if cadres else None
    if level == "city":
        return rng.choice(ctx.brands).id if ctx.brands else None
    if level == "court":
        return rng.choice(ctx.lawyers).id if ctx.lawyers else None
    return None


def _stay(rng: random.Random, level: str) -> dt.timedelta:
    """How long a level takes before its outcome (mostly within its time limit)."""
    if level == "onsite":
        return _minutes(rng, 15, 110)
    if level in ("station_room", "village_room"):
        hours = rng.uniform(2, 66) if rng.random() > 0.03 else rng.uniform(73, 110)
        return dt.timedelta(hours=hours)
    if level == "township":
        return dt.timedelta(days=rng.uniform(0.8, 6.5))
    if level == "city":
        return dt.timedelta(days=rng.uniform(1, 14))
    return dt.timedelta(days=rng.uniform(2, 25))


def _city_dispatch(ctx: _Ctx, sim: _Sim, at: dt.datetime, level: str, now: dt.datetime | None = None) -> None:
    """A case that reaches the city centre gets its people there as dispatches (增派人员): the
    brand mediator (品牌母舅) the transfer named and, on every other case, a lawyer, so the roster
    counts their load. They arrive within the arrival limit when someone already arrived on site
    (the case's first arrival, and with it every arrival figure, stays as it was). Picks and
    minutes come from a counter, not the generator: every other case stays as the seed made it."""
    if level != "city":
        return
    ctx.city_dispatches += 1
    n = ctx.city_dispatches
    people = []
    brand = sim.row.get("current_mediator_id")
    if brand is not None:
        people.append((brand, "city_brand"))
    if ctx.lawyers and n % 2:
        people.append((ctx.lawyers[(n // 2) % len(ctx.lawyers)].id, "lawyer"))
    if not people:
        return
    first = len(sim.dispatches)
    sim.move(at, ctx.staff, "add_dispatch", "市综治中心调处：品牌母舅、律师参与", people=people, notified_at=at)
    if sim.row["first_arrival_at"] is None:
        return
    for i in range(first, len(sim.dispatches)):
        d = sim.dispatches[i]
        arrived = d["notified_at"] + dt.timedelta(minutes=4 + (n + i) % 9)
        if now is None or arrived <= now:
            sim.move(arrived, ctx.staff, "arrive", dispatch_id=i, arrived_at=arrived,
                     dispatch={"id": i, "notified_at": d["notified_at"], "due_at": d["due_at"]})


def _transfer_note(mode: str, nxt: str) -> str:
    return f"{'现场' if nxt in ('station_room', 'village_room') else '本级'}调解未果，双方分歧较大，移送{ladder.level_name(mode, nxt)}"


def _settle(ctx: _Ctx, sim: _Sim, at: dt.datetime, level: str) -> None:
    rng, r = ctx.rng, sim.row
    cat = r["_cat"]
    summary = rng.choice(AGREEMENTS.get(cat, AGREEMENTS["other"])).format(r="被申请人")
    amount = None
    if rng.random() < AMOUNT_CATEGORIES.get(cat, 0.2):
        amount = Decimal(rng.randrange(2, 500) * 100)
        summary += f"，涉及金额 {amount:,.0f} 元"
    paper = _agreement_payload(ctx, sim, at, level, amount)
    sim.move(at, _level_actor(ctx, sim, level), "settle", agreement_summary=summary, agreement_amount=amount, **paper)


def _follow_up_time(rng: random.Random, settled: dt.datetime, late: bool) -> dt.datetime:
    days = rng.randint(8, 10) if late else rng.randint(1, 6)
    local = clock.local(settled) + dt.timedelta(days=days)
    local = local.replace(hour=rng.randint(9, 17), minute=rng.randrange(60), second=0, microsecond=0)
    return max(local.astimezone(clock.UTC), settled + dt.timedelta(hours=1))


def _follow_up(ctx: _Ctx, sim: _Sim, at: dt.datetime, satisfaction: str) -> None:
    rng = ctx.rng
    notes = {"satisfied": "当事人表示满意，协议已履行", "basic": "协议基本履行，当事人基本满意",
             "dissatisfied": "当事人反映对方未按约定履行，表示不满意，重新调处"}
    holds = satisfaction != "dissatisfied" or rng.random() < 0.3
    sim.move(at, ctx.taskforce, "follow_up", notes[satisfaction], method="phone" if rng.random() < 0.85 else "visit",
             satisfaction=satisfaction, agreement_holds=holds, by_name=rng.choice(TASKFORCE_NAMES),
             **_performance_payload(sim, holds))


def _historical_case(ctx: _Ctx, mode: str, village: Village, received: dt.datetime, path: tuple, outcome: str,
                     reopen: bool) -> _Sim:
    rng = ctx.rng
    levels = path
    complexity = rng.choices(("simple", "general", "major"),
                             weights={1: (85, 14, 1), 2: (65, 31, 4)}.get(len(levels), (30, 50, 20)))[0]
    cat = _weighted(rng, CATEGORY_WEIGHTS)
    sim = _Sim(ctx, _new_row(ctx, mode, village, received, cat, complexity))
    _parties(ctx, sim, village)
    u = rng.random()
    arrival = "ontime" if u >= ARRIVAL_LATE + ARRIVAL_MISSING else ("late" if u >= ARRIVAL_MISSING else "missing")
    if arrival == "missing" and len(levels) == 1:
        arrival = "late"  # nobody on site: the case goes to the room
    t = _open_on_site(ctx, sim, arrival)
    for i, level in enumerate(levels):
        t = t + _stay(rng, level)
        if i + 1 < len(levels):
            nxt = levels[i + 1]
            sim.move(t, _level_actor(ctx, sim, level), "transfer", _transfer_note(mode, nxt),
                     mediator_id=_level_person(ctx, sim, nxt))
            _city_dispatch(ctx, sim, t, nxt)
    final = levels[-1]
    if outcome == "terminate":
        code = rng.choices(("withdrawn", "not_dispute", "other_authority"), weights=(60, 15, 25))[0]
        sim.move(t, _level_actor(ctx, sim, final), "terminate", TERMINATE_NOTES[code], reason_code=code)
        sim.move(t + dt.timedelta(days=rng.uniform(0.5, 4)), ctx.taskforce, "close")
        return sim
    if outcome == "litigate":
        court = ctx.court if rng.random() < 0.7 else f"{ctx.court}{ctx.towns[sim.row['township_id']].name[:2]}人民法庭"
        sim.move(t, ctx.staff, "litigate", f"经多次调解未能达成一致，已告知诉讼途径，引导至{court}立案",
                 court_name=court)
        sim.move(t + dt.timedelta(days=rng.uniform(1, 5)), ctx.taskforce, "close")
        return sim
    _settle(ctx, sim, t, final)
    if reopen:
        f = _follow_up_time(rng, sim.row["settled_at"], False)
        _follow_up(ctx, sim, f, "dissatisfied")
        again = f + (dt.timedelta(hours=rng.uniform(1, 5)) if final == "onsite" else dt.timedelta(days=rng.uniform(1, 3)))
        _settle(ctx, sim, again, final)
    f = _follow_up_time(rng, sim.row["settled_at"], rng.random() < 0.02)
    _follow_up(ctx, sim, f, "satisfied" if rng.random() < 0.86 else "basic")
    sim.move(f + _minutes(rng, 5, 240), ctx.taskforce, "close")
    return sim


def _received_times(rng: random.Random, n: int) -> list[dt.datetime]:
    days = (WINDOW_END - WINDOW_START).days
    out = []
    for _ in range(n):
        day = WINDOW_START + dt.timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        out.append((day + dt.timedelta(hours=hour, seconds=rng.randrange(3600))).astimezone(clock.UTC))
    return out


def _place(ctx: _Ctx, mode: str) -> Village:
    if mode == "village":
        return ctx.rng.choice(ctx.village_places)
    places = ctx.station_places
    return ctx.rng.choices(places, weights=[ctx.town_weight[v.township_id] for v in places])[0]


def _historical(ctx: _Ctx) -> list[_Sim]:
    rng = ctx.rng
    plans = []
    for mode, paths in (("station", STATION_PATHS), ("village", VILLAGE_PATHS)):
        for (path, outcome), n in paths.items():
            plans += [(mode, path, outcome)] * n
    rng.shuffle(plans)
    received = sorted(_received_times(rng, len(plans)))
    settled_idx = [i for i, p in enumerate(plans) if p[2] == "settle"]
    reopen = set(rng.sample(settled_idx, round(len(settled_idx) * REOPEN_SHARE)))
    return [_historical_case(ctx, mode, _place(ctx, mode), received[i], path, outcome, i in reopen)
            for i, (mode, path, outcome) in enumerate(plans)]


# ---------------------------------------------------------------- live cases
# (mode, target, how many, overdue how many); target: a level (open, mediating there), "registered",
# "arrival_overdue", "settled" (awaiting follow-up), "reopened".
LIVE_PLAN = [
    ("station", "registered", 3, 1), ("village", "registered", 2, 1),
    ("station", "arrival_overdue", 2, 0), ("village", "arrival_overdue", 2, 0),
    ("station", "onsite", 3, 1), ("village", "onsite", 3, 1),
    ("station", "station_room", 6, 2), ("village", "village_room", 5, 2),
    ("village", "township", 3, 1),
    ("station", "city", 3, 1), ("village", "city", 2, 1),
    ("station", "court", 2, 0), ("village", "court", 1, 0),
    ("station", "reopened", 1, 0), ("village", "reopened", 1, 0),
    ("station", "settled", 9, 3), ("village", "settled", 6, 2),
    # followed up (satisfied) or ended, waiting to be closed: the follow-up page's 待闭环 list
    ("station", "to_close", 2, 0), ("village", "to_close", 1, 0), ("station", "terminated", 1, 0),
]


def _live_case(ctx: _Ctx, now: dt.datetime, mode: str, target: str, overdue: bool, demo_med: Mediator | None) -> _Sim:
    rng = ctx.rng
    if demo_med is not None:
        room = next(r for r in list(ctx.station_room_of_ps.values()) + list(ctx.village_room_of.values())
                    if r.id == demo_med.room_id)
        choices = [v for v in ctx.villages.values() if v.township_id == room.township_id] if mode == "station" \
            else [ctx.villages[room.village_id]]
        village = rng.choice([v for v in choices if mode == "village" or ctx.towns[v.township_id].mode == "station"])
    else:
        village = _place(ctx, mode)
    ladder_levels = ladder.LADDERS[mode]
    level = target if target in ladder_levels else ("onsite" if target in ("registered", "arrival_overdue")
                                                     else rng.choice(ladder_levels[:2]))
    depth = ladder_levels.index(level)
    limit_days = int(ctx.limits.level_days.get(level, case_state.DEFAULT_LEVEL_DAYS))
    # when the case entered its current level
    if target == "registered":
        entered = now - (dt.timedelta(days=1, hours=rng.uniform(1, 5)) if overdue else _minutes(rng, 8, 90))
    elif target == "arrival_overdue":
        entered = now - _minutes(rng, 22, 55)
    elif target in ("settled", "to_close"):
        entered = now - dt.timedelta(days=rng.uniform(8.5, 11) if overdue else rng.uniform(1, 5.5))
    elif target == "reopened":
        entered = now - dt.timedelta(days=rng.uniform(9, 12))
    elif level == "onsite":
        entered = now - (dt.timedelta(days=1, hours=rng.uniform(1, 6)) if overdue else _minutes(rng, 30, 120))
    elif overdue:
        entered = now - dt.timedelta(days=limit_days + rng.uniform(0.5, 2.5))
    else:
        entered = now - dt.timedelta(days=rng.uniform(0.1, max(0.3, limit_days * 0.6)))
    back = sum(_stay(rng, lv).total_seconds() for lv in ladder_levels[:depth]) \
        if target not in ("settled", "to_close") else 0
    received = entered - dt.timedelta(seconds=back) - _minutes(rng, 15, 40)
    received = max(received, now - dt.timedelta(days=20, hours=rng.uniform(-24, 24)))
    complexity = rng.choices(("simple", "general", "major"), weights=(60, 30, 10) if depth < 2 else (25, 50, 25))[0]
    cat = _weighted(rng, CATEGORY_WEIGHTS)
    sim = _Sim(ctx, _new_row(ctx, mode, village, received, cat, complexity))
    _parties(ctx, sim, village)
    if target in ("registered", "arrival_overdue", "onsite"):
        # as intake staff often type it: the caller's name and number in the description, which
        # leaders and trainers then see masked (docs/cases.md, "Personal data")
        caller = sim.parties[0]
        sim.row["description"] = sim.row["description"].rstrip("。") + f"。来电人{caller['name']}，回电 {caller['mobile']}。"
    if target == "registered":
        _open_on_site(ctx, sim, stop_after_register=True)
        return sim
    if target == "arrival_overdue":
        _open_on_site(ctx, sim, arrival="missing", room_mediator=demo_med, now=now)
        return sim
    t = _open_on_site(ctx, sim, room_mediator=demo_med, now=now)
    path = ladder_levels[:depth + 1]
    steps = len(path) - 1
    span = max((entered - t).total_seconds(), 60 * steps)
    for i in range(steps):
        t = t + dt.timedelta(seconds=span / max(steps, 1))
        sim.move(min(t, now), _level_actor(ctx, sim, path[i]), "transfer", _transfer_note(mode, path[i + 1]),
                 mediator_id=(demo_med.id if demo_med and path[i + 1].endswith("_room")
                              else _level_person(ctx, sim, path[i + 1])))
        _city_dispatch(ctx, sim, min(t, now), path[i + 1], now)
    if target == "terminated":
        sim.move(min(t + _minutes(rng, 20, 60), now), _level_actor(ctx, sim, level), "terminate",
                 TERMINATE_NOTES["withdrawn"], reason_code="withdrawn")
    if target in ("settled", "reopened", "to_close"):
        settle_at = max(entered, t + _minutes(rng, 20, 60))
        _settle(ctx, sim, settle_at, level)
        if target in ("reopened", "to_close"):
            f = max(min(_follow_up_time(rng, settle_at, False), now - dt.timedelta(hours=2)),
                    settle_at + dt.timedelta(minutes=30))
            _follow_up(ctx, sim, f, "dissatisfied" if target == "reopened" else "satisfied")
    return sim


def _live(ctx: _Ctx, now: dt.datetime) -> list[_Sim]:
    sims = []
    demo_targets = {"station": {"onsite", "station_room", "settled", "arrival_overdue"},
                    "village": {"onsite", "village_room", "settled", "arrival_overdue"}}
    for mode, target, n, n_overdue in LIVE_PLAN:
        for k in range(n):
            demo_med = None
            if k == 0 and target in demo_targets[mode] or (k == 1 and target.endswith("_room")):
                demo_med = ctx.demo_station if mode == "station" else ctx.demo_village
            sims.append(_live_case(ctx, now, mode, target, k < n_overdue, demo_med))
    return sims


# ---------------------------------------------------------------- repeat disputes
REPEAT_SEED = 2015  # its own generator: the cases above stay exactly as the main seed made them
REPEAT_SHARE = 0.035  # historical cases that are a party's or a place's second (or later) call
REPEAT_BY_ADDRESS = 0.35  # of those, linked by the incident address rather than by a party
HOUSE_SPOTS = ("门前", "附近", "屋旁", "院内")


def _repeat_disputes(ctx: _Ctx, past: list[_Sim], live: list[_Sim]) -> None:
    """Make some disputes come back (docs/demo-data.md, "Repeat disputes"): a party of an earlier
    case in the same village calls again, or the same spot is the scene again, within 150 days;
    among the live cases a few open ones repeat an earlier live case, and one party calls a third
    time. Incident addresses get a house number first, so that places repeat only on purpose."""
    rng = random.Random(REPEAT_SEED)
    for sim in past + live:
        r = sim.row
        town, village = ctx.towns[r["township_id"]], ctx.villages[r["village_id"]]
        r["address"] = (f"{town.name}{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 200)}号"
                        f"{rng.choice(HOUSE_SPOTS)}")
    live = sorted(live, key=lambda s: s.row["received_at"])
    past = sorted(past, key=lambda s: s.row["received_at"])
    by_village: dict[int, list[_Sim]] = {}
    for sim in past:
        by_village.setdefault(sim.row["village_id"], []).append(sim)
    for i in sorted(rng.sample(range(len(past)), round(len(past) * REPEAT_SHARE))):
        later = past[i]
        at = later.row["received_at"]
        earlier = [e for e in by_village[later.row["village_id"]]
                   if at - dt.timedelta(days=150) <= e.row["received_at"] < at]
        if earlier:
            _repeat_of(later, rng.choice(earlier), rng.random() < REPEAT_BY_ADDRESS)
    # live: pairs of cases of the same person, and one person's third call; the later ones still open
    open_live = [k for k, s in enumerate(live) if s.row["status"] in ("registered", "mediating")]
    third, second = open_live[-1], open_live[len(open_live) // 2]
    _repeat_of(live[second], live[0], False)
    _repeat_of(live[third], live[0], False)
    for k in open_live[-9:-1:2]:
        if k not in (second, third):
            _repeat_of(live[k], live[rng.randrange(1, k)], rng.random() < 0.3)


def _repeat_of(later: _Sim, earlier: _Sim, by_address: bool) -> None:
    """`later` becomes a repeat of `earlier`: same spot, or the same person as its first party
    (name, mobile, ID number and home address; a description quoting the caller follows)."""
    if by_address:
        later.row["address"] = earlier.row["address"]
        return
    old, new = later.parties[0], earlier.parties[0]
    later.parties[0] = {**new, "role": old["role"]}
    desc = later.row["description"]
    if old["mobile"] in desc:
        later.row["description"] = desc.replace(old["mobile"], new["mobile"]).replace(old["name"], new["name"])


# ---------------------------------------------------------------- the written agreement
# Its own generator, as for repeat disputes: every draw of the main seed stays where it was.
AGREEMENT_SEED = 2016
SESSION_SHARE = 0.2  # settlements with a 人民调解记录 entered before them
JUDICIAL_SHARE = 0.10  # settlements whose parties apply jointly for judicial confirmation
CONFIRMED_SHARE = 0.9  # of those applications, confirmed by the court (the rest rejected)
ETHNICITIES = ["汉族"] * 40 + ["畲族", "回族", "苗族"]
OCCUPATIONS = ["务农", "个体经营", "务工", "退休", "自由职业", "丰城市某建材公司职工", "村民", "教师", "驾驶员"]
COURT_CODE = "赣0981"  # 丰城市人民法院 in ruling numbers: （2023）赣0981民特123号
REJECT_REASONS = ["协议内容涉及第三人权益，不符合确认条件", "当事人一方撤回申请"]
PLACES = {"onsite": "纠纷现场", "station_room": "驻所母舅调解室", "village_room": "住村母舅工作室",
          "township": "乡镇综治中心调解室", "city": "市综治中心调解室"}


def _paper_rng(ctx: _Ctx) -> random.Random:
    if not hasattr(ctx, "paper_rng"):
        ctx.paper_rng = random.Random(AGREEMENT_SEED)
        ctx.ruling_seq = {}
    return ctx.paper_rng


def _agreement_payload(ctx: _Ctx, sim: _Sim, at: dt.datetime, level: str, amount: Decimal | None) -> dict:
    """The settle row's agreement fields (terms owed by the parties by their place in the list,
    copies, the intention to apply), and for a sample a mediation session just before it."""
    rng = _paper_rng(ctx)
    parties = sim.parties
    debtor = 1 if len(parties) > 1 else 0
    settled_on = clock.local(at).date()
    if rng.random() < SESSION_SHARE:
        held = max(sim.events[-1]["at"], at - _minutes(rng, 10, 40))
        people = "、".join(p["name"] for p in parties)
        med = sim.row.get("_mediator")
        sim.move(held, _level_actor(ctx, sim, level), "record_session", place=PLACES.get(level, "调解室"),
                 held_at=held, mediators=med.name if med else "", participants=people,
                 process="调解员分别听取双方陈述，核实事实，释法明理，引导双方互谅互让",
                 result="双方就主要争议达成一致意见，同意签订调解协议")
    terms = [{"obligation": (f"{parties[debtor]['name']}向{parties[0]['name']}支付{amount:,.0f}元" if amount
                             else f"{parties[debtor]['name']}向{parties[0]['name']}赔礼道歉，停止相关行为"),
              "party_id": debtor, "amount": amount, "manner": "一次性现金或转账支付" if amount else "当面履行",
              "due_on": settled_on + dt.timedelta(days=rng.choice((0, 3, 7, 15, 30)))}]
    if len(parties) > 1 and rng.random() < 0.5:
        terms.append({"obligation": "双方今后友好相处，不再因此事发生争执", "party_id": 0, "amount": None,
                      "manner": "长期履行", "due_on": settled_on})
    intent = sim.row.get("_judicial_intent", rng.random() < JUDICIAL_SHARE)
    return {"terms": terms, "_party_ids": list(range(len(parties))), "agreement_copies": len(parties) + 1,
            "judicial_intent": intent}


def _performance_payload(sim: _Sim, holds: bool) -> dict:
    """Each term's answer at the follow-up: performed, or the first term refused when the agreement broke."""
    terms = sim.paper["terms"]
    if not terms:
        return {}
    return {"_terms": {i: t["due_on"] for i, t in enumerate(terms)},
            "term_performance": {i: "refused" if not holds and i == 0 else "performed" for i in range(len(terms))}}


def _keep_paper(sim: _Sim, extra: dict, at: dt.datetime, who) -> None:
    """The agreement's rows of one move (case_state.Outcome.extra), kept until _write numbers them."""
    paper = sim.paper
    if "terms" in extra:  # a new settlement replaces the earlier terms, as transition() does
        paper["terms"] = [{**t, "performance": None, "checked_at": None} for t in extra["terms"]]
        for f in sim.follow_ups:  # their answers were about the terms replaced
            f["term_performance"] = None
    if "session" in extra:
        paper["sessions"].append({**extra["session"], "recorded_by_id": who[0], "recorded_at": at})
    if "application" in extra:
        paper["confirmations"].append({**extra["application"], "result": None, "result_on": None, "ruling_no": "",
                                       "reject_reason": ""})
    if "result" in extra:
        paper["confirmations"][-1].update(extra["result"])
    for i, answer in (extra.get("performance") or {}).items():
        paper["terms"][int(i)].update(performance=answer, checked_at=at)


def _judicial(ctx: _Ctx, sim: _Sim) -> None:
    """The joint application some days after the agreement took effect, and the court's ruling."""
    rng, r = ctx.paper_rng, sim.row
    effective = r["agreement_effective_on"]
    noon = dt.datetime.combine(effective + dt.timedelta(days=rng.randint(2, 20)), dt.time(10), tzinfo=clock.LOCAL_TZ)
    at = _trim(max(noon.astimezone(clock.UTC), sim.events[-1]["at"] + dt.timedelta(hours=1)))
    online = rng.random() < 0.3
    sim.move(at, ctx.staff, "judicial_apply", applied_on=clock.local(at).date(), court=ctx.court,
             channel="online" if online else "paper", applicants="、".join(p["name"] for p in sim.parties) + "（共同申请）")
    ruled = _trim(at + dt.timedelta(days=rng.uniform(5, 25)))
    day = clock.local(ruled).date()
    if rng.random() < CONFIRMED_SHARE:
        ctx.ruling_seq[day.year] = ctx.ruling_seq.get(day.year, 0) + rng.randint(1, 6)
        sim.move(ruled, ctx.staff, "judicial_result", result="confirmed", result_on=day, _applied_on=clock.local(at).date(),
                 ruling_no=f"（{day.year}）{COURT_CODE}民特{ctx.ruling_seq[day.year]}号")
    else:
        sim.move(ruled, ctx.staff, "judicial_result", result="rejected", result_on=day,
                 reject_reason=rng.choice(REJECT_REASONS))


def _party_paper(rng: random.Random, sim: _Sim, full: bool) -> None:
    """Sex and date of birth from the ID number where there is one; ethnicity and occupation.
    Every party gets the keys (the bulk insert needs the same columns in every row)."""
    for p in sim.parties:
        card = p.get("id_card")
        p.update(sex=None, ethnicity="", birth_date=None, occupation="")
        if not full:
            continue
        if card:
            p.update(sex="M" if int(card[16]) % 2 else "F",
                     birth_date=dt.date(int(card[6:10]), int(card[10:12]), int(card[12:14])))
        p.update(ethnicity=rng.choice(ETHNICITIES), occupation=rng.choice(OCCUPATIONS))


def _agreement_papers(ctx: _Ctx, past: list[_Sim], now: dt.datetime) -> list[_Sim]:
    """Judicial confirmation of the archived agreements whose parties meant to apply, the parties'
    agreement fields, and one live case at day 26 of its 30 days without an application (the
    超时预警 kind 司法确认临近30日). Returns the new case."""
    rng = _paper_rng(ctx)
    for sim in past:
        r = sim.row
        if r["judicial_intent"] and r["status"] == "closed" and r["settled_at"] is not None:
            _judicial(ctx, sim)
    # the live case: settled 26 days ago in a station room, followed up, nobody applied yet
    village = rng.choice(ctx.station_places)
    received = _trim(now - dt.timedelta(days=29, hours=rng.uniform(1, 5)))
    sim = _Sim(ctx, _new_row(ctx, "station", village, received, "debt", "general"))
    sim.row["_judicial_intent"] = True
    _parties(ctx, sim, village)
    t = _open_on_site(ctx, sim)
    sim.move(t + _minutes(rng, 30, 90), _level_actor(ctx, sim, "onsite"), "transfer",
             _transfer_note("station", "station_room"), mediator_id=_level_person(ctx, sim, "station_room"))
    settled = received + dt.timedelta(days=3)
    _settle(ctx, sim, settled, "station_room")
    _follow_up(ctx, sim, settled + dt.timedelta(days=3, hours=2), "satisfied")
    for s in past + [sim]:
        _party_paper(rng, s, bool(s.paper["confirmations"] or s.paper["sessions"]) or s is sim)
    return [sim]


class _PaperIds:
    """Explicit ids for parties and terms while writing: terms name their debtor and follow-ups
    their terms by place in the case's lists until then."""

    def __init__(self, session: Session):
        from db.models import AgreementTerm
        self.session = session
        self.party_id, self.term_id = _next_id(session, Party), _next_id(session, AgreementTerm)
        self.terms, self.sessions, self.confirmations = [], [], []
        self.case_id, self.party_ids, self.term_ids = None, [], []

    def parties(self, sim: _Sim, case_id: int) -> list[dict]:
        self.case_id = case_id
        self.party_ids = list(range(self.party_id, self.party_id + len(sim.parties)))
        self.party_id += len(sim.parties)
        rows = [{"sex": None, "ethnicity": "", "birth_date": None, "occupation": "", **p, "id": pid,
                 "case_id": case_id} for p, pid in zip(sim.parties, self.party_ids)]
        self.term_ids = list(range(self.term_id, self.term_id + len(sim.paper["terms"])))
        self.term_id += len(sim.paper["terms"])
        self.terms += [{**t, "id": tid, "case_id": case_id, "party_id": self.party_ids[t["party_id"]]}
                       for t, tid in zip(sim.paper["terms"], self.term_ids)]
        self.sessions += [{**x, "case_id": case_id} for x in sim.paper["sessions"]]
        self.confirmations += [{**x, "case_id": case_id} for x in sim.paper["confirmations"]]
        return rows

    def follow_ups(self, sim: _Sim) -> list[dict]:
        out = []
        for f in sim.follow_ups:
            answers = f.get("term_performance")
            if answers:  # answers about an earlier agreement's terms (a reopened case) are dropped with them
                answers = {str(self.term_ids[int(i)]): a for i, a in answers.items() if int(i) < len(self.term_ids)}
            out.append({**f, "term_performance": answers or None})
        return out

    def tables(self):
        from db.models import AgreementTerm, JudicialConfirmation, MediationSession
        return ((AgreementTerm, self.terms), (MediationSession, self.sessions), (JudicialConfirmation, self.confirmations))

    def fix_sequences(self) -> None:
        for table in ("party", "agreement_term", "mediation_session", "judicial_confirmation"):
            _fix_sequence(self.session, table)


# ---------------------------------------------------------------- writing
def _number(session: Session, ctx: _Ctx, sims: list[_Sim]) -> None:
    """Case numbers in order of receipt within each year; counters continue after the last."""
    sims.sort(key=lambda s: s.row["received_at"])
    last: dict[int, int] = {}
    for s in sims:
        year = clock.local(s.row["received_at"]).year
        if year not in last:
            last[year] = session.scalar(select(Counter.value).where(Counter.kind == "case", Counter.year == year)) or 0
        last[year] += 1
        s.row["number"] = numbering.case_number(ctx.city_short, year, last[year])
    for year, value in sorted(last.items()):
        exists = session.scalar(select(Counter.id).where(Counter.kind == "case", Counter.year == year))
        if exists:
            session.execute(update(Counter).where(Counter.id == exists).values(value=value))
        else:
            session.execute(insert(Counter), [{"kind": "case", "year": year, "value": value}])


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _fix_sequence(session: Session, table: str) -> None:
    """Explicit ids bypass PostgreSQL's sequence: move it past the rows just written."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def _bulk_insert(session: Session, model, rows: list[dict]) -> None:
    """Bulk INSERT: SQLite's executemany; PostgreSQL's COPY in the session's transaction.

    Measured for ~75,000 rows: psycopg's executemany sends them one by one (~9 s) and
    multi-row VALUES spends its time parsing huge statements (~30 s); COPY takes ~1 s."""
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    from psycopg.types.json import Json
    cols = list(rows[0])
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row([Json(v) if isinstance(v, (dict, list)) else v for v in (r[c] for c in cols)])


def _write(session: Session, sims: list[_Sim]) -> None:
    """Bulk inserts with ids assigned here (children need their parents' ids)."""
    case_id, dispatch_id = _next_id(session, Case), _next_id(session, Dispatch)
    cases, parties, dispatches, events, follow_ups = [], [], [], [], []
    paper_ids = _PaperIds(session)
    for s in sims:
        cases.append({"id": case_id, **{k: v for k, v in s.row.items() if not k.startswith("_")}})
        parties += paper_ids.parties(s, case_id)
        first_dispatch = dispatch_id
        for d in s.dispatches:
            dispatches.append({**d, "id": dispatch_id, "case_id": case_id})
            dispatch_id += 1
        for e in s.events:
            detail = e["detail"]
            if e["action"] == "arrive":  # the dispatch's place in this case's list -> its id
                detail = {**detail, "dispatch_id": first_dispatch + detail["dispatch_id"]}
            events.append({**e, "detail": detail, "case_id": case_id})
        follow_ups += [{**f, "case_id": case_id} for f in paper_ids.follow_ups(s)]
        case_id += 1
    for model, rows in ((Case, cases), (Party, parties), (Dispatch, dispatches), (CaseEvent, events),
                        (FollowUp, follow_ups), *paper_ids.tables()):
        _bulk_insert(session, model, rows)
    _fix_sequence(session, Case.__tablename__)
    _fix_sequence(session, Dispatch.__tablename__)
    paper_ids.fix_sequences()


def load(session: Session, rng: random.Random) -> None:
    """Demo step: the 2023 closed loop (article figures) and live open cases around now."""
    ctx = _Ctx(session, rng)
    now = clock.now().replace(microsecond=0)
    past, live = _historical(ctx), _live(ctx, now)
    _repeat_disputes(ctx, past, live)
    sims = past + live + _agreement_papers(ctx, past, now)
    _number(session, ctx, sims)
    _write(session, sims)
    session.flush()
