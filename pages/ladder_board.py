"""分级调处看板: one column per ladder level of a mode, open cases only, coloured by overdue state."""
import streamlit as st

from components.case_widgets import case_card
from components.context import db, guard
from services.cases import case_queries
from services.cases import ladder
from services.roster import org

me = guard(__file__)
st.title("分级调处看板")

with db() as s:
    townships = {t.id: t.name for t in org.townships(s)}
    categories = {c.id: c.name for c in org.categories(s, active_only=False)}

c1, c2, c3 = st.columns([2, 2, 2])
modes = list(ladder.LADDERS)
# a village mediator's cases run on the village ladder: open the board there
mine = modes.index(me.mediator_kind) if me.mediator_kind in modes else 0
mode = c1.radio("模式", modes, index=mine, format_func=ladder.MODE_NAMES.get, horizontal=True, key="lb_mode")
township_id = c2.selectbox("乡镇（街道）", list(townships), index=None, format_func=townships.get,
                           key="lb_township", placeholder="全部")
category_id = c3.selectbox("纠纷类别", list(categories), index=None, format_func=categories.get,
                           key="lb_category", placeholder="全部")

with db() as s:
    columns = case_queries.board(s, me, mode, township_id=township_id, category_id=category_id, per_column=8)

st.caption("卡片颜色：红色为超时（到场、层级时限），橙色为 24 小时内到期，绿色为正常。每列显示最紧急的 8 件。")
for col, data in zip(st.columns(len(columns)), columns):
    with col:
        st.subheader(data["name"])
        st.metric("在办", data["count"], delta=f"超时 {data['overdue']}" if data["overdue"] else None,
                  delta_color="inverse")
        for row in data["cards"]:
            case_card(row, key=f"lb_open_{row['id']}")
        if data["count"] > len(data["cards"]):
            st.caption(f"另有 {data['count'] - len(data['cards'])} 件，见案件列表。")
