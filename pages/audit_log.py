"""操作日志 (admin; the task force read-only): who did what to which object, when; filters,
keyset pages (services.audit.page), and an Excel export that is itself logged."""
import datetime as dt

import streamlit as st

from components import lists
from components.context import db, guard
from services import audit, clock
from services.lists import AUDIT

me = guard(__file__)
st.title("操作日志")
st.caption("系统中的每一次写操作、登录与退出、查看和导出个人信息、越权尝试都记录在此；日志只能追加，不能修改或删除。"
           "导出操作本身也记入日志。")

with db() as s:
    people = dict(audit.people(s, me))
today = clock.today()
lists.show(lists.ListView(
    "al", AUDIT, page_size=50, note="最新在前",
    filters=[lists.Filter("user_id", "人员", people), lists.Filter("action", "操作", dict(sorted(audit.ACTION_LABELS.items()))),
             lists.Filter("obj", "对象（案件编号、姓名、文号等）", kind="text"),
             lists.Filter("dates", "日期范围", kind="dates", default=(today - dt.timedelta(days=30), today))]))

