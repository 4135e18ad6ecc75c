"""案件列表 / 我的案件: search, filters and a page of cases from SQL; pick one to open it."""
import math

import streamlit as st

from components.case_widgets import case_table, open_case, open_picker
from components.context import can, db, guard
from services import case_queries, ladder, org
from services.roles import MEDIATOR

me = guard(__file__)
st.title("我的案件" if me.role == MEDIATOR else "案件列表")
PAGE_SIZE = 20

with db() as s:
    townships = {t.id: t.name for t in org.townships(s)}
    stations = dict(case_queries.police_stations(s))
    categories = {c.id: c.name for c in org.categories(s, active_only=False)}

statuses = {**case_queries.STATUS_CATEGORIES, **{k: v[0] for k, v in ladder.STATUSES.items()}}
levels = dict(ladder.LEVELS)

personal = can("case.view_personal")  # names and mobiles are searchable only where they are visible
search = st.text_input("搜索", key="cl_search",
                       placeholder="案件编号、当事人姓名、手机号码、110 警情编号或 12345 工单号" if personal
                       else "案件编号、110 警情编号或 12345 工单号（本角色不能按当事人姓名或手机号码查询）")
with st.expander("筛选", expanded=False):
    c1, c2, c3, c4 = st.columns(4)
    township_id = c1.selectbox("乡镇（街道）", list(townships), index=None, format_func=townships.get,
                               key="cl_township", placeholder="全部")
    station_id = c2.selectbox("处警派出所", list(stations), index=None, format_func=stations.get,
                              key="cl_station", placeholder="全部")
    mode = c3.selectbox("模式", list(ladder.MODE_NAMES), index=None, format_func=ladder.MODE_NAMES.get,
                        key="cl_mode", placeholder="全部")
    category_id = c4.selectbox("纠纷类别", list(categories), index=None, format_func=categories.get,
                               key="cl_category", placeholder="全部")
    c1, c2, c3 = st.columns(3)
    level = c1.selectbox("层级", list(levels), index=None, format_func=levels.get, key="cl_level", placeholder="全部")
    status = c2.selectbox("状态", list(statuses), index=None, format_func=statuses.get, key="cl_status",
                          placeholder="全部")
    overdue_opts = {"any": "任一超时", **case_queries.OVERDUE_KINDS}
    overdue = c3.selectbox("超时", list(overdue_opts), index=None, format_func=overdue_opts.get, key="cl_overdue",
                           placeholder="全部")

filters = case_queries.CaseFilters(search=search, township_id=township_id, police_station_id=station_id, mode=mode,
                                   category_id=category_id, level=level, status=status, overdue=overdue)
signature = repr(filters)
if st.session_state.get("cl_signature") != signature:  # new search: back to page 1
    st.session_state["cl_signature"] = signature
    st.session_state["cl_page"] = 1
page = st.session_state.get("cl_page", 1)

with db() as s:
    rows, total = case_queries.list_cases(s, me, filters, page=page, page_size=PAGE_SIZE)
pages = max(1, math.ceil(total / PAGE_SIZE))

st.caption(f"共 {total:,} 件，第 {page} / {pages} 页（按接报时间倒序）")
if not rows:
    st.info("没有符合条件的案件。")
else:
    picked = case_table(rows, key="cl_table", selectable=True)
    if picked is not None:
        open_case(picked)
    c1, c2, c3 = st.columns([1, 1, 4])
    if c1.button("上一页", key="cl_prev", disabled=page <= 1, icon=":material/chevron_left:"):
        st.session_state["cl_page"] = page - 1
        st.rerun()
    if c2.button("下一页", key="cl_next", disabled=page >= pages, icon=":material/chevron_right:"):
        st.session_state["cl_page"] = page + 1
        st.rerun()
    open_picker(rows, "cl")
