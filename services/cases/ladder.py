"""The rules of a case, as one table: MOVES.

Urban 驻所:  现场调解 → 驻所母舅调解室 → 市综治中心 → 引导司法程序
Rural 住村:  现场调解 → 住村母舅工作室 → 乡镇综治中心 → 市综治中心（线上）→ 引导司法程序

Each row of MOVES is one thing that can happen to a case: the statuses and levels it may start
from, extra conditions (guards), where it leads, the permission it needs, the fields it must
carry, and its words for the staff (action picker), the citizen (the public page's timeline) and
the audit log. Everything else reads this table: services.cases.case_state applies a row (the one
state change, used by services.cases.workflow and by the demo), services.cases.case_queries lists the
allowed actions and builds their SQL twin (`sql_allows`), the forms take their labels from it,
the flowchart is drawn from it and the public page words its timeline with it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, false, or_, select, true

# ------------------------------------------------------------------ levels, ladders, statuses
# level code -> name in the UI
LEVELS: dict[str, str] = {
    "onsite": "现场调解",
    "station_room": "驻所母舅调解室",
    "village_room": "住村母舅工作室",
    "township": "乡镇综治中心",
    "city": "市综治中心",
    "court": "引导司法程序",
}
ALL_LEVELS = tuple(LEVELS)

LADDERS: dict[str, tuple[str, ...]] = {
    "station": ("onsite", "station_room", "city", "court"),
    "village": ("onsite", "village_room", "township", "city", "court"),
}

MODE_NAMES = {"station": "驻所", "village": "住村"}


def level_name(mode: str, level: str) -> str:
    if mode == "village" and level == "city":
        return "市综治中心（线上）"
    return LEVELS[level]


def next_level(mode: str, level: str) -> str | None:
    ladder = LADDERS[mode]
    i = ladder.index(level)
    return ladder[i + 1] if i + 1 < len(ladder) else None


# status code -> (name, category). Code asks for the category, not a list of names.
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"
STATUSES: dict[str, tuple[str, str]] = {
    "registered": ("待调度", OPEN),
    "mediating": ("调解中", OPEN),
    "settled": ("调解成功", RESOLVED),
    "litigation": ("已引导诉讼", RESOLVED),
    "terminated": ("已终止", RESOLVED),
    "closed": ("已闭环", CLOSED),
}


def status_name(status: str) -> str:
    return STATUSES[status][0]


def statuses_in(category: str) -> tuple[str, ...]:
    return tuple(code for code, (_, cat) in STATUSES.items() if cat == category)


OPEN_STATUSES = statuses_in(OPEN)

TERMINATION_REASONS = {
    "withdrawn": "当事人撤回",
    "not_dispute": "不属于矛盾纠纷",
    "other_authority": "移交其他部门处理",
    "other": "其他",
}
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
SATISFIED = ("satisfied", "basic")  # answers that let a settled case close
FOLLOW_UP_METHODS = {"phone": "电话回访", "visit": "上门回访"}


# ------------------------------------------------------------------ guards
@dataclass(frozen=True)
class Guard:
    """A condition beyond status and level, in Python (on a case's state) and in SQL (on Case)."""
    name: str
    holds: Callable[[Mapping], bool]
    sql: Callable[[], object]
    refusal: str


def _case():
    from db.models import Case
    return Case


def _waiting_sql():
    from db.models import Dispatch
    Case = _case()
    return exists(select(Dispatch.id).where(Dispatch.case_id == Case.id, Dispatch.arrived_at.is_(None)))


FOLLOWED_UP_BEFORE_CLOSING = Guard(
    "followed_up_before_closing",
    lambda s: s["status"] != "settled" or (s.get("followed_up_at") is not None and s.get("satisfaction") in SATISFIED),
    lambda: or_(_case().status != "settled",
                and_(_case().followed_up_at.isnot(None), _case().satisfaction.in_(SATISFIED))),
    "调解成功的案件须先完成回访且当事人满意、协议履行，才能闭环。")
FROM_110 = Guard(
    "from_110", lambda s: s.get("source") == "110", lambda: _case().source == "110",
    "只有 110 转来的案件才能记录民警到场和移交时间。")
SOMEONE_ON_THE_WAY = Guard(
    "someone_on_the_way", lambda s: bool(s.get("waiting_dispatches")), _waiting_sql,
    "没有尚未到场的调度人员，无需记录到场。")


ROOM_MEDIATORS = ("station", "village")  # mediator kinds who work in a room, below the centres
CENTRE_LEVELS = ("township", "city")
ROOM_MEDIATOR_BELOW_CENTRE = Guard(
    "room_mediator_below_centre",
    # `actor_kind`: the acting mediator's kind (services.cases.workflow.state_of); absent for other roles
    lambda s: not (s.get("actor_kind") in ROOM_MEDIATORS and s["level"] in CENTRE_LEVELS),
    lambda: true(),  # the actor is not a property of the case: the SQL twin cannot see it
    "案件已移送至乡镇或市综治中心，驻所、住村母舅不能记录调解成功，请由综治中心办理。")
HAS_AGREEMENT = Guard(
    "has_agreement", lambda s: s.get("settled_at") is not None, lambda: _case().settled_at.isnot(None),
    "只有调解成功、达成调解协议的案件才能申请司法确认。")
NOT_YET_APPLIED = Guard(
    "not_yet_applied", lambda s: s.get("judicial_status") is None, lambda: _case().judicial_status.is_(None),
    "本案已记录司法确认申请，不能重复申请。")
APPLICATION_PENDING = Guard(
    "application_pending", lambda s: s.get("judicial_status") == "applied",
    lambda: _case().judicial_status == "applied",
    "本案没有待法院答复的司法确认申请。")
_AGREEMENT_STATUSES = ("settled", "closed")  # the paperwork goes on after the case is archived


# ------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Rule:
    """One row of MOVES. `to_status` None: the status stays (a side action on the case)."""
    action: str
    from_status: tuple[str, ...]
    from_levels: tuple[str, ...]
    to_level: str  # "same" or "next"
    to_status: str | None
    permission: str
    # payload field -> (form label, message when missing); text fields need at least 2 characters
    required: Mapping[str, tuple[str, str]]
    staff_label: str
    audit_label: str
    # the citizen's words for this step on the public page: one text, or per target level;
    # None: never shown to the citizen (internal steps such as arrivals)
    public_label: str | Mapping[str, str] | None
    guards: tuple[Guard, ...] = ()
    restarts_clock: bool = False  # the level's time limit starts again (entering or re-entering it)
    via: str | None = None  # reached only as the outcome of another action, never asked for directly
    level_refusal: str = ""  # why not, when only the level is wrong
    optional: Mapping[str, str] = field(default_factory=dict)  # payload field -> form label
    by_link: bool = False  # taken only through a dispatched person's check-in link, never a staff form

    @property
    def moves(self) -> bool:
        return self.to_status is not None

    def public_words(self, to_level: str | None) -> str | None:
        if isinstance(self.public_label, Mapping):
            return self.public_label.get(to_level or "")
        return self.public_label


_NOT_COURT = tuple(x for x in ALL_LEVELS if x != "court")

MOVES: tuple[Rule, ...] = (
    Rule("register", (), ("onsite",), "same", "registered", "case.register", {},
         "登记受理", "登记受理", "已受理"),
    Rule("dispatch", ("registered",), ALL_LEVELS, "same", "mediating", "case.dispatch",
         {"people": ("调度人员", "请至少选择一名调度人员。")},
         "调度派员", "调度派员", {lvl: "现场调解中" if lvl == "onsite" else f"{LEVELS[lvl]}调解中" for lvl in LEVELS},
         restarts_clock=True, optional={"notified_at": "通知时间"}),
    Rule("transfer", ("mediating",), _NOT_COURT, "next", "mediating", "case.mediate",
         {"note": ("调解不成功的原因", "移送须填写调解不成功的原因。")},
         "移送上一级", "移送上一级",
         {"station_room": "已移送驻所调解室", "village_room": "已移送住村母舅工作室", "township": "已移送乡镇综治中心",
          "city": "已移送市综治中心", "court": "已引导司法程序"},
         restarts_clock=True, level_refusal="案件已在最后一级，不能再移送。"),
    Rule("settle", ("mediating",), _NOT_COURT, "same", "settled", "case.mediate",
         {"agreement_summary": ("调解协议要点", "请填写调解协议要点。")},
         "调解成功", "调解成功", "调解成功",
         level_refusal="已进入引导司法程序，只能记录引导诉讼或终止。", guards=(ROOM_MEDIATOR_BELOW_CENTRE,),
         optional={"agreement_amount": "协议金额（元，可不填）", "terms": "协议条款",
                   "agreement_copies": "协议份数", "effective_on": "协议生效日期（留空为调解成功当日）",
                   "judicial_intent": "当事人拟共同申请司法确认"}),
    Rule("litigate", ("mediating",), ("court",), "same", "litigation", "case.mediate",
         {"court_name": ("引导起诉的法院", "请填写引导诉讼的法院名称。")},
         "引导诉讼", "引导诉讼", "已引导诉讼",
         level_refusal="只有进入引导司法程序的案件才能记录引导诉讼。", optional={"note": "说明（可不填）"}),
    Rule("terminate", ("registered", "mediating"), ALL_LEVELS, "same", "terminated", "case.mediate",
         {"reason_code": ("终止原因", "请选择终止原因。"), "note": ("终止说明", "请填写终止说明。")},
         "终止", "终止调解", "已终止调解"),
    Rule("follow_up", ("settled",), ALL_LEVELS, "same", "settled", "case.follow_up",
         {"method": ("回访方式", "请选择回访方式。"), "agreement_holds": ("协议是否履行", "请选择协议是否履行。"),
          "satisfaction": ("满意度", "请选择满意度。")},
         "回访", "回访", "已回访", optional={"done_at": "回访时间", "note": "回访情况（不满意或未履行时必填）",
                                           "term_performance": "各项协议条款履行情况"}),
    Rule("reopen", ("settled",), ALL_LEVELS, "same", "mediating", "case.follow_up", {},
         "回访后重新调处", "回访不满意重新调处", "回访后重新调解", restarts_clock=True, via="follow_up"),
    Rule("close", ("settled", "terminated", "litigation"), ALL_LEVELS, "same", "closed", "case.close", {},
         "闭环归档", "闭环归档", "已办结", guards=(FOLLOWED_UP_BEFORE_CLOSING,)),
    # side actions: the case stays where it is
    Rule("add_dispatch", ("mediating",), ALL_LEVELS, "same", None, "case.dispatch",
         {"people": ("增派人员", "请至少选择一名人员。")}, "增派人员", "增派人员", None),
    Rule("arrive", ("mediating",), ALL_LEVELS, "same", None, "case.dispatch",
         {"dispatch_id": ("到场人员", "请选择到场人员。"), "arrived_at": ("到场时间", "请填写到场时间。")},
         "记录到场", "到场登记", None, guards=(SOMEONE_ON_THE_WAY,)),
    # the hand-over may come later: from this form, or from the dispatched person's 已移交 tap
    Rule("police", ("registered", "mediating"), ALL_LEVELS, "same", None, "case.dispatch",
         {"police_arrived_at": ("民警到场时间", "请填写民警到场时间。")},
         "民警到场/移交", "民警到场/移交", None, guards=(FROM_110,),
         optional={"police_handover_at": "移交调解时间（尚未移交可不填：调度人员点“已移交”时记录）"}),
    Rule("reroute", ("registered", "mediating"), ("onsite",), "same", None, "case.route_override",
         {"room_id": ("改派至调解室", "请选择改派的调解室。"), "reason": ("改派理由", "改派须填写理由。")},
         "改派调解室", "改派调解室", None, level_refusal="只有处于现场调解阶段的案件可以改派调解室。"),
    # the dispatched person's own taps on their check-in link (services.cases.checkin); "arrive" above
    # is the third tap, so the arrival clock and the quick-response rate count it
    Rule("depart", ("mediating",), ALL_LEVELS, "same", None, "case.dispatch",
         {"dispatch_id": ("调度人员", "请选择调度人员。")}, "已出发", "签到链接：已出发", None, by_link=True),
    Rule("handover", ("mediating",), ALL_LEVELS, "same", None, "case.dispatch",
         {"dispatch_id": ("调度人员", "请选择调度人员。")}, "已移交/已结束", "签到链接：已移交/已结束", None,
         by_link=True),
    # the written agreement (services.cases.agreements): sessions, judicial confirmation, party fields
    Rule("record_session", ("mediating", "settled"), ALL_LEVELS, "same", None, "case.mediate",
         {"held_at": ("调解时间", "请填写调解时间。"), "place": ("调解地点", "请填写调解地点。"),
          "process": ("调解经过", "请填写调解经过。"), "result": ("调解结果", "请填写调解结果（达成的意见）。")},
         "调解记录", "记录调解过程", None,
         optional={"mediators": "调解人员", "participants": "参加人员（当事人及其他）"}),
    Rule("judicial_apply", _AGREEMENT_STATUSES, ALL_LEVELS, "same", None, "case.mediate",
         {"applied_on": ("申请日期", "请填写申请日期。"), "court": ("受理法院", "请填写受理申请的法院。"),
          "channel": ("申请方式", "请选择申请方式。")},
         "申请司法确认", "申请司法确认", "申请司法确认", guards=(HAS_AGREEMENT, NOT_YET_APPLIED),
         optional={"applicants": "申请人（全体当事人共同申请）", "online_request_id": "对应的线上申请",
                   "note": "说明（可不填）"}),
    Rule("judicial_result", _AGREEMENT_STATUSES, ALL_LEVELS, "same", None, "case.mediate",
         {"result": ("确认结果", "请选择法院的确认结果。"), "result_on": ("裁定日期", "请填写裁定日期。")},
         "司法确认结果", "司法确认结果", "已司法确认", guards=(APPLICATION_PENDING,),
         optional={"ruling_no": "民事裁定书文号（确认有效时必填）", "reject_reason": "不予确认的理由"}),
    Rule("judicial_rejected", _AGREEMENT_STATUSES, ALL_LEVELS, "same", None, "case.mediate", {},
         "司法确认未通过", "法院不予确认", "法院未予司法确认", via="judicial_result"),
    Rule("party_details", tuple(STATUSES), ALL_LEVELS, "same", None, "case.mediate",
         {"party_id": ("当事人", "请选择当事人。")}, "当事人信息", "补充当事人信息", None,
         optional={"sex": "性别", "ethnicity": "民族", "birth_date": "出生日期", "occupation": "职业或工作单位"}),
)
RULES: dict[str, Rule] = {r.action: r for r in MOVES}
ACTION_NAMES = {r.action: r.staff_label for r in MOVES}
AUDIT_LABELS = {f"case.{r.action}": r.audit_label for r in MOVES}


def rule(action: str) -> Rule:
    from services.errors import ValidationError
    if action not in RULES:
        raise ValidationError(f"未知操作：{action}")
    return RULES[action]


def target_level(r: Rule, mode: str, level: str) -> str:
    return next_level(mode, level) if r.to_level == "next" else level


def refusal(state: Mapping, action: str) -> str | None:
    """Why `action` may not be taken on a case in `state` (plain Chinese), or None.

    `state` holds the case's fields (mode, level, status, source, followed_up_at, satisfaction)
    and `waiting_dispatches` (how many people dispatched have not arrived)."""
    r = rule(action)
    mode, level, status = state["mode"], state["level"], state["status"]
    if r.via:
        return f"“{r.staff_label}”由“{RULES[r.via].staff_label}”的结果决定，不能单独执行。"
    where = f"{level_name(mode, level)}·{status_name(status)}" if level in LEVELS and status in STATUSES else ""
    if level not in LADDERS.get(mode, ()) or status not in r.from_status:
        return f"当前状态（{where}）不能执行“{r.staff_label}”。"
    if level not in r.from_levels or (r.to_level == "next" and next_level(mode, level) is None):
        return r.level_refusal or f"当前状态（{where}）不能执行“{r.staff_label}”。"
    for g in r.guards:
        if not g.holds(state):
            return g.refusal
    return None


def check(state: Mapping, action: str) -> Rule:
    """The rule for `action`, or IllegalTransition with the reason why not."""
    from services.errors import IllegalTransition
    why = refusal(state, action)
    if why:
        raise IllegalTransition(why)
    return RULES[action]


def allowed(state: Mapping) -> list[str]:
    """Every action the rules allow now (before permissions), in the table's order."""
    return [r.action for r in MOVES if r.from_status and not r.via and refusal(state, r.action) is None]


def sql_allows(action: str):
    """The SQL twin of `refusal(state, action) is None`, as a condition on Case."""
    Case = _case()
    r = RULES[action]
    if r.via or not r.from_status:
        return false()
    ladder_levels = or_(*(and_(Case.mode == mode, Case.level.in_(levels)) for mode, levels in LADDERS.items()))
    levels = [x for x in r.from_levels if r.to_level != "next" or x != "court"]
    conds = [Case.status.in_(r.from_status), Case.level.in_(levels), ladder_levels]
    conds += [g.sql() for g in r.guards]
    return and_(true(), *conds)


def stage_label(mode: str, level: str, status: str) -> str:
    """Plain words for the current stage (used on the case card and the public page)."""
    if status == "registered":
        return "已受理，正在调度"
    if status == "mediating":
        return f"{level_name(mode, level)}中" if level != "court" else "正在引导司法程序"
    return status_name(status)
