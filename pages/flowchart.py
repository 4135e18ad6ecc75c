"""流程图: the 非警务警情联动处置流程图, drawn from services.cases.ladder so chart and rules agree."""
import pandas as pd
import streamlit as st

from components.context import db, guard
from components.tables import dataframe
from services import settings
from services.cases import case_queries
from services.cases import ladder

guard(__file__)
st.title("流程图")
st.caption("非警务警情联动处置流程图：110接警处警 → 警网联动现场调 → 母舅住村驻所调 → 综治中心兜底调 → "
           "无法调的引导诉讼 → 专班逐案跟踪回访。图中层级、移送与结果均取自系统的调处规则。")

with db() as s:
    limits = settings.get(s, "level_time_limits")
    arrival, follow_up, hours = (settings.phrase(s, k) for k in ("arrival_minutes", "follow_up_days",
                                                                 "station_room_hours"))

st.graphviz_chart(case_queries.flowchart_dot(limits), width="stretch")

st.subheader("图例")
dataframe(pd.DataFrame({"线条": list(case_queries.FLOW_LEGEND), "含义": list(case_queries.FLOW_LEGEND.values())}),
          hide_index=True, width="stretch")

st.subheader("时限")
rows = []
for mode, steps in ladder.LADDERS.items():
    for level in steps:
        days = int(limits.get(level, 7))
        rows.append({"模式": ladder.MODE_NAMES[mode], "层级": ladder.level_name(mode, level),
                     "办理时限": "当日" if days == 0 else f"{days} 天"})
dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(f"调度后 {arrival}内到场；调解成功后 {follow_up}内回访；"
           f"驻所调解室服务时间 {hours}，其后由乡镇值班干部会同派出所处置。"
           "时限由管理员在系统设置中调整。")
