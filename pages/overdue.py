"""超时预警: everything overdue now, by kind (arrivals, levels, follow-ups, judicial confirmations
near day 30), with counts; each kind
a list of its own (oldest due first), paged and exported."""
import streamlit as st

from components import lists
from components.case_widgets import open_case
from components.context import db, guard
from services.cases import case_queries
from services.lists import OVERDUE

me = guard(__file__)
st.title("超时预警")
st.caption("到场超时：通知后超过到场时限仍未到场；层级办理超时：在办案件超过本级时限；"
           "回访超时：调解成功后超过回访期限仍未回访；司法确认临近30日：当事人拟申请司法确认，"
           "协议生效已满 25 日仍未申请（生效后 30 日内须共同向法院申请）。")

with db() as s:
    groups = case_queries.overdue_list(s, me, limit=0)

cols = st.columns(len(groups))
for col, group in zip(cols, groups.values()):
    col.metric(group["name"], f"{group['count']:,}")

for kind, group in groups.items():
    st.subheader(f"{group['name']}（{group['count']:,}）")
    lists.show(lists.ListView(
        f"od_{kind}", OVERDUE, fixed={"kind": kind}, fixed_text=f"超时类型：{group['name']}", page_size=50,
        export_name=f"超时预警_{group['name']}",
        unit="件", note="最早到期的在前", empty="无。", pick="打开案件",
        pick_label=lambda r: f"{r['number']}（{r['status_name']}）", actions=[lists.Action("open", "打开", open_case)]))
