"""超时预警: everything overdue now, grouped by kind (arrivals, levels, follow-ups), with counts."""
import streamlit as st

from components.case_widgets import case_table, open_picker
from components.context import db, guard
from services import case_queries

me = guard(__file__)
st.title("超时预警")
st.caption("到场超时：通知后超过到场时限仍未到场；层级办理超时：在办案件超过本级时限；"
           "回访超时：调解成功后超过回访期限仍未回访。")

with db() as s:
    groups = case_queries.overdue_list(s, me, limit=50)

cols = st.columns(len(groups))
for col, group in zip(cols, groups.values()):
    col.metric(group["name"], f"{group['count']:,}")

for kind, group in groups.items():
    st.subheader(f"{group['name']}（{group['count']:,}）")
    if not group["items"]:
        st.caption("无。")
        continue
    if group["count"] > len(group["items"]):
        st.caption(f"显示最早到期的 {len(group['items'])} 件。")
    case_table(group["items"])
    open_picker(group["items"], f"od_{kind}")
