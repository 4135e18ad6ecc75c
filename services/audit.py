"""The audit trail: one call, inside the caller's transaction.

Each event says who (username, name, role), when, what (an action code with a Chinese label in
ACTION_LABELS), which object (entity type and id, plus a readable label such as the case number
or a person's name, fixed at the time of the event) and, for edits, the changed fields as
`changes={"字段": [old, new]}`. The table is append-only in the database (migration 0011).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent
from services import clock
from services.cases import ladder
from services.roles import Actor, require, role_name

ACTION_LABELS: dict[str, str] = {
    # accounts and sessions
    "login.ok": "登录成功", "login.failed": "登录失败", "login.locked": "账号锁定", "login.refused": "登录被拒绝",
    "login.limited": "登录过于频繁", "logout": "退出登录", "session.force_logout": "强制下线",
    "session.expired": "会话过期",
    "user.create": "新建用户", "user.reset_password": "重置密码", "user.enable": "启用账号",
    "user.disable": "停用账号", "user.change_role": "修改角色",
    "security.denied": "越权操作被拒绝",
    # reading personal data
    "personal.view": "查看当事人信息", "personal.export": "导出个人信息",
    # case paperwork (services/cases/dossier.py): full personal data leaves with every download
    "papers.download": "下载案件文书", "papers.dossier": "下载案件卷宗", "papers.month_zip": "下载月度卷宗包",
    # cases: the audit words of the MOVES table
    **ladder.AUDIT_LABELS,
    # dispute codes and online services
    "code.reissue": "重新生成解纷码", "online.request": "线上服务申请", "online.handle": "办理线上服务",
    "video.log": "视频连线登记",
    "checkin.issue": "生成签到链接", "checkin.revoke": "作废签到链接",
    # roster and duty
    "roster.add": "新增母舅", "roster.edit": "修改母舅信息", "roster.deactivate": "母舅停用",
    "roster.reactivate": "母舅恢复", "roster.delete": "删除母舅", "roster.import": "导入名册",
    "roster.export": "导出名册", "department.add": "新增部门", "rotation.add": "新增轮驻",
    "rotation.end": "结束轮驻", "duty.assign": "排班", "duty.unassign": "取消排班", "duty.swap": "调班",
    "duty.copy_week": "复制周排班",
    # task force
    "instrument.draft": "起草文书", "instrument.edit": "修改文书", "instrument.issue": "签发文书",
    "instrument.reply": "登记回复", "instrument.close": "办结文书", "instrument.discard": "作废文书",
    "meeting.create": "新建协调会", "meeting.edit": "修改协调会", "action_item.add": "新增会议事项",
    "action_item.update": "更新会议事项", "bulletin.draft": "起草专报", "bulletin.edit": "修改专报",
    "bulletin.refresh": "刷新专报数据", "bulletin.issue": "签发专报",
    "assessment.compute": "计算考核", "assessment.award": "登记奖惩", "assessment.call_total": "登记警情总数",
    "assessment.weights": "修改考核权重",
    # administration
    "setting.change": "修改设置", "category.add": "新增纠纷类别", "category.rename": "修改纠纷类别",
    "category.activate": "启用纠纷类别", "category.deactivate": "停用纠纷类别", "category.delete": "删除纠纷类别", "category.reorder": "调整类别顺序",
    "org.load": "导入组织机构", "demo.load": "加载演示数据", "demo.reset": "重置演示数据",
    "audit.export": "导出操作日志",
    # the 110 / 12345 platforms' intake API (services.api_keys, services.cases.calls)
    "api.key_create": "新建接口密钥", "api.key_revoke": "作废接口密钥", "api.link": "平台警情关联已有案件",
    "online.accept": "受理线上服务", "online.schedule": "安排线上服务", "online.done": "办结线上服务",
    "online.decline": "不予受理线上服务",
}

ENTITY_LABELS: dict[str, str] = {
    "app_user": "用户", "case": "案件", "mediator": "母舅", "instrument": "文书", "meeting": "协调会",
    "action_item": "会议事项", "bulletin": "工作专报", "assessment_run": "考核", "award_entry": "奖惩",
    "police_call_total": "警情总数", "setting": "设置", "dispute_category": "纠纷类别", "department": "部门",
    "rotation": "轮驻", "duty_shift": "值班", "online_request": "线上服务申请", "video_link": "视频连线",
    "township": "乡镇", "org": "组织机构", "demo": "演示数据", "export": "导出", "audit_event": "操作日志",
    "dispute_code": "解纷码", "api_key": "接口密钥",
}


# settings outside services.settings.SPECS (whose labels the audit log reads from there)
OTHER_SETTING_LABELS: dict[str, str] = {
    "assessment_weights": "考核权重", "police_minutes_per_case": "民警处警用时", "public_base_url": "解纷码公网地址",
    "taskforce_contact": "专班联系方式", "city": "城市信息",
}


def setting_label(key: str) -> str:
    from services.settings import SPECS
    return SPECS[key].label if key in SPECS else OTHER_SETTING_LABELS.get(key, key)


# tables whose audit entity name differs from the table name
_TABLES = {"case": "dispute_case"}
# the attribute that names an object, first one present wins
_NAMING = ("doc_number", "number", "title", "topic", "subject", "name")


def _auto_label(session: Session, entity_type: str, entity_id: int | None, detail: dict) -> str:
    """The readable name of the object at the time of the event (case number, document number, person...)."""
    if entity_type == "setting":
        return setting_label(detail.get("key", ""))
    if entity_id is None or not entity_type:
        return ""
    from db.models import Base
    table = _TABLES.get(entity_type, entity_type)
    mapper = next((m for m in Base.registry.mappers if m.local_table is not None
                   and getattr(m.local_table, "name", None) == table), None)
    if mapper is None:
        return ""
    obj = session.get(mapper.class_, entity_id)
    if obj is None:
        return ""
    if entity_type == "app_user":
        return f"{obj.display_name}（{obj.username}）"
    for attr in _NAMING:
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return ""


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def role_label(role: str) -> str:
    return role_name(role) if role else ""


def object_text(event: AuditEvent) -> str:
    """What a reader sees in the 对象 column: the label, else the kind and id."""
    if event.object_label:
        return event.object_label
    kind = ENTITY_LABELS.get(event.entity_type, event.entity_type)
    return f"{kind} {event.entity_id}" if event.entity_id else kind


def diff(obj, fields: dict[str, str], new: dict) -> dict[str, list]:
    """{label: [old, new]} for the attributes of `obj` that `new` changes; call before assigning."""
    out = {}
    for attr, label in fields.items():
        if attr in new and getattr(obj, attr) != new[attr]:
            out[label] = [_plain(getattr(obj, attr)), _plain(new[attr])]
    return out


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def record(session: Session, actor: Actor | None, action: str, entity_type: str = "",
           entity_id: int | None = None, note: str = "", *, label: str = "", **detail) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        user_id=actor.user_id if actor else None,
        username=actor.username if actor else "",
        actor_name=(actor.display_name or actor.username)[:50] if actor else "",
        role=actor.role if actor else "",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        object_label=(label or _auto_label(session, entity_type, entity_id, detail))[:120],
        detail=detail,
        note=note,
    )
    session.add(event)
    session.flush()
    return event


PERMISSION_LABELS: dict[str, str] = {
    "user.manage": "用户管理", "org.manage": "组织机构管理", "settings.manage": "系统设置", "demo.reset": "重置演示数据",
    "case.register": "案件登记", "case.dispatch": "案件调度", "case.route_override": "改派调解室",
    "case.mediate": "案件调处", "case.follow_up": "案件回访", "case.close": "案件归档",
    "case.view_personal": "查看当事人信息", "roster.manage": "名册管理", "duty.manage": "值班管理",
    "roster.view_phone": "查看母舅电话", "code.manage": "解纷码管理", "online.handle": "办理线上服务",
    "video.log": "视频连线登记", "taskforce.issue": "专班文书", "assessment.manage": "考核管理",
    "assessment.weights": "考核权重", "audit.read": "查看操作日志", "api.keys": "接口密钥管理",
}


def record_denied(actor: Actor, permission: str, message: str = "") -> None:
    """A write refused for the actor's role: a security event in a transaction of its own
    (the refused one is rolled back, and this one must survive it)."""
    from db.engine import session_scope
    with session_scope() as s:
        record(s, actor, "security.denied", "", None, note=message,
               label=PERMISSION_LABELS.get(permission, permission) or "未知操作", permission=permission)


# ---------------------------------------------------------------------------- reading the trail (操作日志)

@dataclass(frozen=True)
class AuditFilter:
    user_id: int | None = None  # the person who acted
    action: str = ""  # an action code (the page offers the Chinese labels)
    obj: str = ""  # part of the object's label: a case number, a name, a document number
    start: dt.date | None = None  # Beijing dates, inclusive
    end: dt.date | None = None

    def describe(self) -> str:
        parts = []
        if self.user_id:
            parts.append(f"人员#{self.user_id}")
        if self.action:
            parts.append(f"操作：{action_label(self.action)}")
        if self.obj:
            parts.append(f"对象含“{self.obj}”")
        if self.start or self.end:
            parts.append(f"日期：{self.start or '…'}至{self.end or '…'}")
        return "；".join(parts) or "全部"


def _conditions(flt: AuditFilter) -> list:
    cond = []
    if flt.user_id:
        cond.append(AuditEvent.user_id == flt.user_id)
    if flt.action:
        cond.append(AuditEvent.action == flt.action)
    if flt.obj.strip():
        cond.append(AuditEvent.object_label.contains(flt.obj.strip()[:60], autoescape=True))
    if flt.start:
        cond.append(AuditEvent.at >= clock.local_dt(flt.start.year, flt.start.month, flt.start.day))
    if flt.end:
        nxt = flt.end + dt.timedelta(days=1)
        cond.append(AuditEvent.at < clock.local_dt(nxt.year, nxt.month, nxt.day))
    return cond


def page(session: Session, actor: Actor, flt: AuditFilter, before_id: int | None = None,
         size: int = 50) -> tuple[list[dict], int | None]:
    """One page of events, newest first, by keyset (id < before_id): the same cost on page 1 and
    page 20,000. Returns (rows for display, the before_id of the next page or None)."""
    require(actor, "audit.read")
    q = select(AuditEvent).where(*_conditions(flt)).order_by(AuditEvent.id.desc()).limit(size + 1)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    events = list(session.scalars(q))
    more = len(events) > size
    events = events[:size]
    return [display_row(e) for e in events], (events[-1].id if more else None)


def _value(v) -> str:
    if v is None or v == "":
        return "（空）"
    if isinstance(v, (dict, list)):
        return "、".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "、".join(map(str, v))
    return str(v)


def changes_text(event: AuditEvent) -> str:
    detail = event.detail or {}
    changes = detail.get("changes")
    if changes:
        return "；".join(f"{k}：{_value(old)} → {_value(new)}" for k, (old, new) in changes.items())
    if "old" in detail or "new" in detail:
        return f"{_value(detail.get('old'))} → {_value(detail.get('new'))}"
    return ""


REASONS = {"unknown": "用户名不存在", "password": "密码错误", "locked": "账号已锁定", "disabled": "账号已停用",
           "empty": "未填写用户名或密码", "demo-in-production": "生产模式下的演示账号"}


def display_row(e: AuditEvent) -> dict:
    note = e.note or ""
    reason = (e.detail or {}).get("reason")
    if reason:
        note = "；".join(x for x in (REASONS.get(reason, reason), note) if x)
    return {"编号": e.id, "时间": clock.fmt(e.at, True), "姓名": e.actor_name or ("系统" if not e.username else ""),
            "用户名": e.username, "角色": role_label(e.role), "操作": action_label(e.action),
            "对象": object_text(e), "变更": changes_text(e), "说明": note}


def export_xlsx(session: Session, actor: Actor, flt: AuditFilter) -> bytes:
    """The filtered trail as 操作日志 exports it (services.lists.AUDIT, at most 100,000 rows);
    the export is itself logged."""
    from services import listing, lists
    require(actor, "audit.read")
    filters = {"user_id": flt.user_id, "action": flt.action, "obj": flt.obj, "dates": (flt.start, flt.end)}
    return listing.export(session, actor, lists.AUDIT, filters, flt.describe()).data


def people(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The accounts, for the person filter."""
    from db.models import User
    require(actor, "audit.read")
    return [(u.id, f"{u.display_name}（{u.username}）") for u in session.scalars(select(User).order_by(User.username))]

