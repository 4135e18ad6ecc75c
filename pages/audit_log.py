"""操作日志 (admin; the task force read-only): who did what to which object, when; filters,
keyset pages, and an Excel export that is itself logged."""
import datetime as dt

import pandas as pd
import streamlit as st

from components.context import db, guard
from components.tables import dataframe
from services import audit, clock

me = guard(__file__)
st.title("操作日志")
st.caption("系统中的每一次写操作、登录与退出、查看和导出个人信息、越权尝试都记录在此；日志只能追加，不能修改或删除。")

with db() as s:
    people = dict(audit.people(s, me))
actions = dict(sorted(audit.ACTION_LABELS.items(), key=lambda kv: kv[0]))
c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
person = c1.selectbox("人员", list(people), index=None, format_func=people.get, key="al_person", placeholder="全部人员")
action = c2.selectbox("操作", list(actions), index=None, format_func=actions.get, key="al_action", placeholder="全部操作")
obj = c3.text_input("对象（案件编号、姓名、文号等）", key="al_object", max_chars=60)
today = clock.today()
dates = c4.date_input("日期范围", value=(today - dt.timedelta(days=30), today), key="al_dates", format="YYYY-MM-DD")
start, end = (tuple(dates) + (None, None))[:2] if isinstance(dates, (tuple, list)) else (dates, dates)
flt = audit.AuditFilter(user_id=person, action=action or "", obj=obj or "", start=start, end=end)

# keyset paging: a stack of "before id" cursors, reset whenever the filter changes
if st.session_state.get("al_filter") != flt:
    st.session_state["al_filter"] = flt
    st.session_state["al_cursors"] = [None]
cursors = st.session_state["al_cursors"]
with db() as s:
    rows, next_before = audit.page(s, me, flt, cursors[-1])

# people by name and role (a login name is not a person); the account page shows login names
dataframe(pd.DataFrame(rows, columns=["编号", "时间", "姓名", "用户名", "角色", "操作", "对象", "变更", "说明"])
          .drop(columns=["用户名"]), hide_index=True, width="stretch", key="al_table")
p1, p2, p3, _ = st.columns([1, 1, 2, 4])
if p1.button("上一页", key="al_prev", disabled=len(cursors) == 1):
    cursors.pop()
    st.rerun()
if p2.button("下一页", key="al_next", disabled=next_before is None):
    cursors.append(next_before)
    st.rerun()
p3.caption(f"第 {len(cursors)} 页，每页 50 条，最新在前")


def _export():
    with db() as s:
        return audit.export_xlsx(s, me, flt)


st.download_button("导出 Excel（导出操作本身也记入日志）", _export, f"操作日志_{today:%Y%m%d}.xlsx", on_click="ignore",
                   key="al_export", icon=":material/download:")
