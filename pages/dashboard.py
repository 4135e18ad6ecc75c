"""领导驾驶舱: headline tiles with change, charts, heat table, police-side figures, exports."""
import pandas as pd
import streamlit as st

from components import chart_cache, charts, effect
from components.context import db, guard
from components.tables import dataframe
from db.config import database_url
from services.metrics import dashboard
from services.metrics.dashboard import Period, Scope

me = guard(__file__)
st.title("领导驾驶舱")


@st.cache_data(ttl=60, show_spinner="正在统计……")
def figures(db_key: str, start, end, label: str, kind: str, unit_id) -> dict:
    """Aggregates only (identical for every user, no personal data): safe to share for 60 s."""
    period, scope = Period(start, end, label), Scope(kind, unit_id)
    with db() as s:
        dashboard.ensure_fresh(s)
        t = dashboard.totals(s, period, scope)
        return {"tiles": dashboard.headline(s, period, scope), "weekly": dashboard.weekly(s, period, scope),
                "source": dashboard.by_source(s, period, scope), "category": dashboard.by_category(s, period, scope),
                "mode": dashboard.by_mode(s, period, scope), "township": dashboard.by_township(s, period, scope),
                "heat": dashboard.heat(s, period, scope), "funnel": dashboard.funnel(t),
                "settle_time": dashboard.settle_time(t), "police": dashboard.police_side(s, period, scope, t),
                "scope_name": scope.name(s)}


@st.cache_data(ttl=300, show_spinner="正在分析重复报警……")
def repeat_calls(db_key: str, start, end, kind: str, unit_id) -> list[dict]:
    """Township counts only (no phone or address leaves the database)."""
    with db() as s:
        return dashboard.repeat_calls(s, Period(start, end), Scope(kind, unit_id))


with db() as s:
    options = dashboard.scope_options(s)
c1, c2, c3 = st.columns([2, 1, 2])
with c1:
    period = charts.period_picker("dash")
with c2:
    scope = charts.scope_picker("dash", options)
data = figures(database_url(), period.start, period.end, period.label, scope.kind, scope.id)
c3.caption(f"统计期 {period.text}（北京时间，含首尾两日）· 范围：{data['scope_name']}  \n"
           "变化为与上一等长统计期相比；在办、超时为当前实时数。")

charts.tiles(data["tiles"])
effect.section(period, scope, repeats=bool(st.session_state.get("dash_repeats_on")))

left, right = st.columns(2)
chart_cache.show(charts.weekly_chart, data["weekly"], where=left, width="stretch")
chart_cache.show(charts.mode_chart, data["mode"], where=right, width="stretch")
left, right = st.columns(2)
chart_cache.show(charts.bar_chart, data["source"], "source_name", "received", "案件来源", "来源", where=left, width="stretch")
chart_cache.show(charts.bar_chart, data["category"], "category", "received", "纠纷类别", "类别", where=right,
                 width="stretch")
left, right = st.columns(2)
chart_cache.show(charts.ordered_bars, data["funnel"], "stage", "cases", "化解层级（在哪一级调解成功/引导诉讼）", "层级",
                 where=left, width="stretch")
chart_cache.show(charts.ordered_bars, data["settle_time"], "bucket", "cases", "化解用时（接报到调解成功）", "用时",
                 where=right, width="stretch")

chart_cache.show(charts.township_chart, data["township"], width="stretch", key="dash_township_chart",
                 on_select=lambda: charts.narrow_to_township("dash", "dash_township_chart"), selection_mode="pick")
if scope.kind == "city":
    st.caption("点击柱条可将本页缩小到该乡镇（街道）；也可在上方“范围”中选择。")

chart_cache.show(charts.heat_chart, data["heat"], width="stretch")

st.subheader("警务视角")
ps = data["police"]
c1, c3, c4 = st.columns(3)  # the share of all 110 calls is the headline tile 占110警情比例: shown once
c1.metric("分流的110警情", f"{ps['diverted']:,}", border=True)
c3.metric("估算节省警力", f"{ps['hours_saved']:,.0f} 小时", border=True,
          help=f"每起分流警情按 {ps['minutes_before']} 分钟降至 {ps['minutes_after']} 分钟估算（系统设置可调）")
c4.metric("110接警总量（折算）", "—" if ps["calls110"] is None else f"{ps['calls110']:,.0f}", border=True)
show_repeats = st.toggle("重复报警分析：当事人手机号或住址 30 天内已有其他案件的案件，按乡镇（街道）",
                         key="dash_repeats_on")
data["repeats"] = repeat_calls(database_url(), period.start, period.end, scope.kind, scope.id) if show_repeats else []
if show_repeats:
    repeats = pd.DataFrame([{"乡镇（街道）": r["township"], "案件数": r["cases"], "重复报警": r["repeats"],
                             "占比": r["share"]} for r in data["repeats"]])
    dataframe(repeats, hide_index=True, width="stretch", key="dash_repeats",
              column_config={"占比": st.column_config.NumberColumn(format="percent")})

st.subheader("导出")
core_header, core_rows, core_formats = dashboard.core_figures_table(data["tiles"])
tables = {
    "tiles": ("驾驶舱_核心指标", core_header, core_rows),
    "township": ("驾驶舱_乡镇", ["乡镇（街道）", "案件数", "调解成功", "调解成功率"],
                 [[r["township"], r["received"], r["settled"], r["success_rate"]] for r in data["township"]]),
    "heat": ("驾驶舱_乡镇x类别", ["乡镇（街道）", "纠纷类别", "案件数"],
             [[r["township"], r["category"], r["received"]] for r in data["heat"]]),
    "repeats": ("驾驶舱_重复报警", ["乡镇（街道）", "案件数", "重复报警", "占比"],
                [[r["township"], r["cases"], r["repeats"], r["share"]] for r in data["repeats"]]),
}
names = {"tiles": "核心指标", "township": "各乡镇", "heat": "乡镇 × 类别", "repeats": "重复报警（需先打开分析）"}
which = st.selectbox("选择表格", list(tables), format_func=names.get, key="dash_export_table", placeholder="请选择")
title, header, rows = tables[which]
formats = {"township": [None, "int", "int", "percent"], "heat": [None, None, "int"],
           "repeats": [None, "int", "int", "percent"]}
charts.download(chart_cache.export_xlsx(title, period, data["scope_name"], header, rows, formats=formats.get(which),
                                      row_formats=core_formats if which == "tiles" else None), key="dash_export")
st.caption("导出只含统计数字，不含任何当事人信息。")
