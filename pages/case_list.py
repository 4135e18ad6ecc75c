"""案件列表 / 我的案件: search, filters and a page of cases from SQL; pick one to open it."""
import streamlit as st

from components import lists
from components.case_widgets import open_case
from components.context import can, db, guard
from services.cases import case_queries
from services.cases import ladder
from services.roster import org
from services.lists import CASES
from services.roles import MEDIATOR

me = guard(__file__)
st.title("我的案件" if me.role == MEDIATOR else "案件列表")

with db() as s:
    townships = {t.id: t.name for t in org.townships(s)}
    stations = dict(case_queries.police_stations(s))
    categories = {c.id: c.name for c in org.categories(s, active_only=False)}

personal = can("case.view_personal")  # names and mobiles are searchable only where they are visible
lists.show(lists.ListView(
    "cl", CASES, unit="件", note="按接报时间倒序", filters_in="筛选", empty="没有符合条件的案件。", jump="跳到接报日期",
    search="案件编号、当事人姓名、手机号码、110 警情编号或 12345 工单号" if personal
    else "案件编号、110 警情编号或 12345 工单号（本角色不能按当事人姓名或手机号码查询）",
    filters=[lists.Filter("township_id", "乡镇（街道）", townships),
             lists.Filter("police_station_id", "处警派出所", stations),
             lists.Filter("mode", "模式", ladder.MODE_NAMES),
             lists.Filter("category_id", "纠纷类别", categories),
             lists.Filter("level", "层级", dict(ladder.LEVELS)),
             lists.Filter("status", "状态", {**case_queries.STATUS_CATEGORIES,
                                            **{k: v[0] for k, v in ladder.STATUSES.items()}}),
             lists.Filter("overdue", "超时", {"any": "任一超时", **case_queries.OVERDUE_KINDS}),
             lists.Filter("repeat", "只看重复纠纷（12 个月内同一当事人或地址已有案件）", kind="check")],
    pick="打开案件", pick_label=lambda r: f"{r['number']}（{r['status_name']}）",
    actions=[lists.Action("open", "打开", open_case)], row_click=open_case))
