"""操作日志 (admin): the newest audit events, filterable by action."""
import pandas as pd
import streamlit as st
from sqlalchemy import select

from components.context import db, guard
from db.models import AuditEvent
from services import clock

guard(__file__)
st.title("操作日志")
action = st.text_input("按操作筛选（如 login、case、user）", key="audit_filter")
with db() as s:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)
    if action:
        q = q.where(AuditEvent.action.contains(action.strip()))
    rows = [{"时间": clock.fmt(e.at, True), "用户": e.username, "角色": e.role, "操作": e.action,
             "对象": f"{e.entity_type}#{e.entity_id}" if e.entity_id else e.entity_type,
             "说明": e.note} for e in s.scalars(q)]
st.caption("最近 500 条")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
