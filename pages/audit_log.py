"""操作日志 (admin): the newest audit events, filterable by action; people by name, actions in Chinese."""
import pandas as pd
import streamlit as st
from sqlalchemy import select

from components.context import db, guard
from components.tables import dataframe
from db.models import AuditEvent, User
from services import clock
from services.roles import ROLES

# The audit codes ("case.transfer") are for the log's readers in code; the page says them in Chinese.
SUBJECTS = {"action_item": "督办事项", "assessment": "考核", "bulletin": "工作专报", "category": "纠纷类别",
            "code": "解纷码", "demo": "演示数据", "department": "部门", "duty": "值班", "instrument": "风险提示与督办",
            "login": "登录", "logout": "退出登录", "meeting": "协调会", "online": "线上服务", "org": "组织机构",
            "roster": "母舅名册", "rotation": "轮驻", "setting": "系统设置", "user": "用户", "video": "视频连线",
            "case": "案件", "app_user": "用户", "dispute_category": "纠纷类别", "mediator": "母舅",
            "online_request": "线上服务", "police_call_total": "110接警总量", "township": "乡镇（街道）",
            "video_link": "视频连线", "award": "奖惩"}
VERBS = {"add": "新增", "update": "更新", "award": "奖惩登记", "call_total": "登记110总量", "compute": "计算排名",
         "draft": "起草", "edit": "修改", "issue": "印发", "refresh": "刷新数据", "activate": "启用", "delete": "删除",
         "rename": "改名", "reorder": "调整顺序", "reissue": "作废重发", "load": "加载", "reset": "重置",
         "assign": "安排", "copy_week": "复制上周", "swap": "对调", "unassign": "取消安排", "close": "办结",
         "discard": "作废", "reply": "登记回复", "failed": "失败", "locked": "锁定", "ok": "成功", "refused": "拒绝",
         "create": "新建", "request": "申请", "deactivate": "停用", "export": "导出", "import": "导入",
         "reactivate": "恢复", "end": "结束", "change": "修改", "change_role": "修改角色", "enable": "启用",
         "reset_password": "重置密码", "log": "登记"}
COLUMNS = ("时间", "操作人", "角色", "操作", "对象", "说明")


def action_name(code: str) -> str:
    subject, _, verb = code.partition(".")
    name = SUBJECTS.get(subject, "其他")
    return f"{name}·{VERBS.get(verb, '其他')}" if verb else name


def entity_name(kind: str, entity_id: int | None) -> str:
    name = SUBJECTS.get(kind, "其他") if kind else "—"
    return f"{name} {entity_id}" if entity_id else name


guard(__file__)
st.title("操作日志")
action = st.text_input("按操作筛选（如 登录、案件、用户）", key="audit_filter")
with db() as s:
    q = select(AuditEvent, User.display_name).outerjoin(User, User.id == AuditEvent.user_id) \
        .order_by(AuditEvent.id.desc()).limit(500)
    rows = [{"时间": clock.fmt(e.at, True), "操作人": name or ("系统" if not e.username or e.username == "system" else "未知用户"),
             "角色": ROLES.get(e.role, "系统" if e.role in ("", "system") else "其他"), "操作": action_name(e.action),
             "对象": entity_name(e.entity_type, e.entity_id), "说明": e.note or "—"} for e, name in s.execute(q)]
if action.strip():
    rows = [r for r in rows if action.strip() in r["操作"] or action.strip() in r["对象"]]
st.caption("最近 500 条")
dataframe(pd.DataFrame(rows, columns=COLUMNS), hide_index=True, width="stretch")
