"""The audit trail: one call, inside the caller's transaction.

Each event says who (username, name, role), when, what (an action code with a Chinese label in
ACTION_LABELS), which object (entity type and id, plus a readable label such as the case number
or a person's name, fixed at the time of the event) and, for edits, the changed fields as
`changes={"字段": [old, new]}`. The table is append-only in the database (migration 0011).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import AuditEvent
from services import clock
from services.roles import ROLES, Actor

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
    # cases
    "case.register": "登记受理", "case.dispatch": "调度派员", "case.transfer": "移送上一级",
    "case.settle": "调解成功", "case.terminate": "终止调解", "case.litigate": "引导诉讼",
    "case.follow_up": "回访", "case.reopen": "回访不满意重新调处", "case.close": "闭环归档",
    "case.reroute": "改派调解室", "case.arrive": "到场登记", "case.add_dispatch": "增派人员",
    "case.police": "民警到场/移交",
    # dispute codes and online services
    "code.reissue": "重新生成解纷码", "online.request": "线上服务申请", "online.handle": "办理线上服务",
    "video.log": "视频连线登记",
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
    "category.activate": "启用/停用纠纷类别", "category.delete": "删除纠纷类别", "category.reorder": "调整类别顺序",
    "org.load": "导入组织机构", "demo.load": "加载演示数据", "demo.reset": "重置演示数据",
    "audit.export": "导出操作日志",
}

ENTITY_LABELS: dict[str, str] = {
    "app_user": "用户", "case": "案件", "mediator": "母舅", "instrument": "文书", "meeting": "协调会",
    "action_item": "会议事项", "bulletin": "工作专报", "assessment_run": "考核", "award_entry": "奖惩",
    "police_call_total": "警情总数", "setting": "设置", "dispute_category": "纠纷类别", "department": "部门",
    "rotation": "轮驻", "duty_shift": "值班", "online_request": "线上服务申请", "video_link": "视频连线",
    "township": "乡镇", "org": "组织机构", "demo": "演示数据", "export": "导出", "audit_event": "操作日志",
    "dispute_code": "解纷码",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def role_label(role: str) -> str:
    return ROLES.get(role, role) if role else ""


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
        object_label=(label or "")[:120],
        detail=detail,
        note=note,
    )
    session.add(event)
    session.flush()
    return event


def record_denied(actor: Actor, what: str, message: str = "") -> None:
    """A write refused for the actor's role: a security event in a transaction of its own
    (the refused one is rolled back, and this one must survive it)."""
    from db.engine import session_scope
    with session_scope() as s:
        record(s, actor, "security.denied", "", None, note=message, label=what)
