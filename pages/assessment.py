"""考核排名: league tables of stations and rooms per snapshot; compute (task force), weights (admin),
monthly 110 totals (staff, task force), export."""

import pandas as pd
import streamlit as st

from components import charts
from components.context import db, field_error, guard, run_action
from components.dates import month_picker
from components.tables import dataframe, one_decimal, percent
from services.metrics import assessment
from services.metrics import dashboard
from services.metrics.dashboard import Period

me = guard(__file__)
st.title("考核排名")
allowed = assessment.can_write(me.role)
UNIT_LABELS = {"station": "派出所", "room": "调解室"}
COLS = {"rank": "名次", "arrow": "较上期", "unit_name": "单位", "cases": "办理数", "success_rate": "调解成功率",
        "satisfaction_rate": "满意率", "quick_rate": "快速响应率", "follow_up_rate": "回访完成率", "overdue": "超时数",
        "score": "综合得分", "flag": "提示"}
RATES = ("success_rate", "satisfaction_rate", "quick_rate", "follow_up_rate")


with db() as s:
    runs = assessment.runs(s)

if not runs:
    st.info("尚未生成任何考核排名。" + ("请在下方选择月份生成。" if allowed["manage"] else "专班生成后即可查看。"))
else:
    by_id = {r["id"]: r for r in runs}
    c1, c2 = st.columns([3, 1])
    run_id = c1.selectbox("考核期（历次排名快照）", list(by_id), format_func=lambda i: by_id[i]["title"], key="as_run", placeholder="请选择")
    unit = c2.segmented_control("单位类型", list(UNIT_LABELS), format_func=UNIT_LABELS.get, default="station",
                                key="as_unit") or "station"
    run = by_id[run_id]
    with db() as s:
        rows = assessment.league_table(s, run_id, unit)
    table = pd.DataFrame([{**r, **{k: percent(r[k]) for k in RATES}, "score": one_decimal(r["score"]),
                           "rank": r["rank"] or "—", "flag": "后三名" if r["bottom"] else ""} for r in rows],
                         columns=[*COLS, "bottom"])
    bottom = table.pop("bottom").tolist()
    styled = table[list(COLS)].rename(columns=COLS).style.apply(
        lambda row: ["background-color: #fde2e1" if bottom[row.name] else "" for _ in row], axis=1)
    dataframe(styled, hide_index=True, width="stretch", key="as_table")
    w = run["weights"]
    st.caption("本期权重（生成时快照，之后修改权重不影响本期）：" +
               "，".join(f"{assessment.WEIGHT_NAMES[k]} {w.get(k, 0):g}" for k in assessment.WEIGHT_NAMES) +
               "。红色为后三名；“较上期”与上一期排名相比。")
    period = Period(run["period_start"], run["period_end"], run["label"])
    exp = dashboard.export_xlsx(f"考核排名_{UNIT_LABELS[unit]}", period, "全市", assessment.LEAGUE_HEADER,
                              assessment.league_rows_for_export(rows), formats=assessment.LEAGUE_FORMATS)
    charts.download(exp, key="as_export")

if allowed["manage"]:
    st.subheader("生成考核排名")
    with st.form("as_compute_form", enter_to_submit=False):
        month = month_picker("考核月份", "as_month")
        note = st.text_input("备注", key="as_note", placeholder="如：月度考核")
        field_error("period")
        go = st.form_submit_button("按当前权重计算并保存快照", type="primary", key="as_compute")
    if go and run_action(assessment.compute_run, Period.month(month), note, success="考核排名已生成"):
        st.cache_data.clear()
        st.session_state.pop("as_run", None)
        st.rerun()

if allowed["weights"]:
    st.subheader("考核权重")
    with db() as s:
        current = assessment.current_weights(s)
        minutes = dashboard.police_minutes(s)
    with st.form("as_weights_form", enter_to_submit=False):
        cols = st.columns(len(assessment.WEIGHT_NAMES))
        new = {}
        for col, (k, label) in zip(cols, assessment.WEIGHT_NAMES.items()):
            with col:
                new[k] = st.number_input(label, 0.0, 100.0, float(current[k]), step=5.0, key=f"as_w_{k}")
                field_error(f"w_{k}")
        save = st.form_submit_button("保存权重", key="as_weights_save")
    if save and run_action(assessment.set_weights, new, success="权重已保存，下次生成排名时生效"):
        st.rerun()
    with st.form("as_minutes_form", enter_to_submit=False):
        st.caption("驾驶舱“估算节省警力”：每起分流警情民警用时（分钟）")
        c1, c2 = st.columns(2)
        before = c1.number_input("分流前", 0, 1440, minutes["before"], key="as_min_before")
        after = c2.number_input("分流后", 0, 1440, minutes["after"], key="as_min_after")
        field_error("minutes_before")
        field_error("minutes_after")
        save_min = st.form_submit_button("保存", key="as_minutes_save")
    if save_min and run_action(assessment.set_police_minutes, int(before), int(after), success="已保存"):
        st.cache_data.clear()

if allowed["call_totals"]:
    st.subheader("每月110接警总量")
    with st.form("as_calls_form", enter_to_submit=False):
        c1, c2, c3 = st.columns([1, 1, 2])
        cm = month_picker("月份", "as_call_month", where=c1)
        total = c2.number_input("110接警总量", 0, 10_000_000, 0, key="as_call_total")
        cnote = c3.text_input("备注", key="as_call_note", placeholder="数据来源，如：110指挥中心月报")
        field_error("month")
        field_error("total")
        save_calls = st.form_submit_button("保存", key="as_call_save")
    if save_calls and run_action(assessment.set_call_total, cm, total, cnote, success="已保存"):
        st.cache_data.clear()
    with db() as s:
        totals = assessment.call_totals(s)
    if totals:
        dataframe(pd.DataFrame(totals).rename(columns={"month": "月份", "total": "110总量", "note": "备注",
                                                       "entered_by": "录入人", "entered_at": "录入时间"}),
                  hide_index=True, width="stretch", key="as_call_table")
