"""Dashboard pieces: period and scope pickers, KPI tiles, Altair charts (Chinese titles, axes and
tooltips) and an Excel download. Charts take small aggregated lists, never case rows."""
from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from services import clock
from services.metrics import dashboard
from services.metrics.dashboard import Period, Scope

PRESETS = {"article": "文章统计期 2023-07-01—2023-12-08", "month": "本月", "last_month": "上月", "quarter": "本季度",
           "year": "本年", "custom": "自定义"}
SCOPE_KINDS = {"city": "全市", "township": "乡镇（街道）", "station": "派出所辖区"}
FONT = "Noto Sans CJK SC, Microsoft YaHei, sans-serif"
AXIS_ALL = alt.Axis(labelOverlap=False, labelLimit=220)  # every label shown, none cut short


def period_picker(prefix: str, default: str = "article") -> Period:
    keys = list(PRESETS)
    choice = st.selectbox("统计期", keys, index=keys.index(default), format_func=PRESETS.get, key=f"{prefix}_preset", placeholder="请选择")
    today = clock.today()
    if choice == "article":
        return Period.article()
    if choice == "month":
        return Period.month(today)
    if choice == "last_month":
        return Period.month(today.replace(day=1) - dt.timedelta(days=1))
    if choice == "quarter":
        return Period.quarter(today)
    if choice == "year":
        return Period.year(today)
    c1, c2 = st.columns(2)
    start = c1.date_input("开始日期", value=today.replace(day=1), key=f"{prefix}_start")
    end = c2.date_input("结束日期", value=today, key=f"{prefix}_end")
    if end < start:
        st.caption(":red[结束日期不能早于开始日期，已按开始日期计算。]")
        end = start
    return Period(start, end, "自定义")


def scope_picker(prefix: str, options: dict[str, list[tuple[int, str]]]) -> Scope:
    kinds = list(SCOPE_KINDS)
    kind = st.selectbox("范围", kinds, format_func=SCOPE_KINDS.get, key=f"{prefix}_scope_kind", placeholder="请选择")
    if kind == "city":
        return Scope()
    names = dict(options[kind])
    uid = st.selectbox(SCOPE_KINDS[kind], list(names), format_func=names.get, key=f"{prefix}_{kind}", placeholder="请选择")
    return Scope(kind, uid) if uid is not None else Scope()


def narrow_to_township(prefix: str, chart_key: str) -> None:
    """on_select callback of the township chart: narrow the page's scope to the clicked township."""
    state = st.session_state.get(chart_key) or {}
    picked = (state.get("selection") or {}).get("pick") or []
    if picked and picked[0].get("township_id") is not None:
        st.session_state[f"{prefix}_scope_kind"] = "township"
        st.session_state[f"{prefix}_township"] = int(picked[0]["township_id"])


def tiles(items: list[dashboard.Tile], per_row: int = 5) -> None:
    for i in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, t in zip(cols, items[i:i + per_row]):
            none = t.delta == dashboard.NO_DELTA  # nothing to compare with: a plain dash, no arrow, no colour
            col.metric(t.label, t.display, t.delta, help=t.help or None, border=True,
                       delta_color="off" if none else "inverse" if t.key in ("overdue", "open") else "normal",
                       delta_arrow="off" if none else "auto")


def _base(df: pd.DataFrame, title: str) -> alt.Chart:
    return alt.Chart(df, title=alt.TitleParams(title, anchor="start")).properties(height=260)


def _config(chart) -> alt.Chart:
    return chart.configure(font=FONT).configure_axis(labelFont=FONT, titleFont=FONT).configure_legend(
        labelFont=FONT, titleFont=FONT)


def weekly_chart(rows: list[dict]) -> alt.Chart:
    """Weekly lines; a first or last week only partly inside the period is kept and marked (hollow
    point, "不完整周（n天）" in the tooltip) so its lower count is not read as a drop."""
    df = pd.DataFrame(rows or [{"week": clock.today(), "received": 0, "settled": 0, "days": 7, "partial": False}])
    df["周"] = [f"不完整周（{d}天）" if p else "完整周" for d, p in zip(df["days"], df["partial"])]
    df = df.drop(columns=["days", "partial"]).rename(columns={"received": "接报", "settled": "调解成功"}) \
        .melt(["week", "周"], var_name="指标", value_name="案件数")
    df["week"] = pd.to_datetime(df["week"])
    base = _base(df, "每周案件数（空心点为统计期首尾的不完整周）").encode(
        x=alt.X("week:T", title="周（周一起）", axis=alt.Axis(format="%m-%d")),
        y=alt.Y("案件数:Q", title="案件数"),
        color=alt.Color("指标:N", title="指标"),
        tooltip=[alt.Tooltip("week:T", title="周起始日", format="%Y-%m-%d"), alt.Tooltip("指标:N", title="指标"),
                 alt.Tooltip("案件数:Q", title="案件数", format=","), alt.Tooltip("周:N", title="周")])
    points = base.mark_point(size=50).encode(
        fill=alt.condition(alt.datum["周"] == "完整周", alt.Color("指标:N", legend=None), alt.value("white")))
    return _config(base.mark_line() + points)


def bar_chart(rows: list[dict], label: str, value: str, title: str, label_title: str, value_title: str = "案件数",
              sort: str | None = "-x") -> alt.Chart:
    df = pd.DataFrame(rows or [{label: "无数据", value: 0}])
    return _config(_base(df, title).mark_bar().encode(
        y=alt.Y(f"{label}:N", title=label_title, sort=sort, axis=AXIS_ALL),
        x=alt.X(f"{value}:Q", title=value_title),
        tooltip=[alt.Tooltip(f"{label}:N", title=label_title), alt.Tooltip(f"{value}:Q", title=value_title, format=",")]))


def ordered_bars(rows: list[dict], label: str, value: str, title: str, label_title: str) -> alt.Chart:
    """Bars in the given order (ladder funnel, time-to-settle buckets)."""
    df = pd.DataFrame(rows)
    return _config(_base(df, title).mark_bar().encode(
        y=alt.Y(f"{label}:N", title=label_title, sort=alt.EncodingSortField("order", order="ascending"), axis=AXIS_ALL),
        x=alt.X(f"{value}:Q", title="案件数"),
        tooltip=[alt.Tooltip(f"{label}:N", title=label_title), alt.Tooltip(f"{value}:Q", title="案件数", format=",")]))


def mode_chart(rows: list[dict]) -> alt.Chart:
    df = pd.DataFrame(rows or [{"mode_name": "无数据", "received": 0, "share": None, "success_rate": None}])
    return _config(_base(df, "驻所与住村").mark_arc(innerRadius=50).encode(
        theta=alt.Theta("received:Q", title="案件数"),
        color=alt.Color("mode_name:N", title="模式"),
        tooltip=[alt.Tooltip("mode_name:N", title="模式"), alt.Tooltip("received:Q", title="案件数", format=","),
                 alt.Tooltip("share:Q", title="占比", format=".1%"),
                 alt.Tooltip("success_rate:Q", title="调解成功率", format=".1%")]))


def township_chart(rows: list[dict]) -> alt.Chart:
    """Cases per township; clicking a bar narrows the page to that township (selection "pick")."""
    df = pd.DataFrame(rows or [{"township_id": 0, "township": "无数据", "received": 0, "success_rate": None}])
    pick = alt.selection_point(name="pick", fields=["township_id"])
    return _config(_base(df, "各乡镇（街道）案件数（点击柱条查看该乡镇）").mark_bar().encode(
        y=alt.Y("township:N", title="乡镇（街道）", sort="-x", axis=AXIS_ALL),
        x=alt.X("received:Q", title="案件数"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.5)),
        tooltip=[alt.Tooltip("township:N", title="乡镇（街道）"), alt.Tooltip("received:Q", title="案件数", format=","),
                 alt.Tooltip("settled:Q", title="调解成功", format=","),
                 alt.Tooltip("success_rate:Q", title="调解成功率", format=".1%")],
    ).add_params(pick).properties(height=max(260, 22 * len(df))))


def heat_chart(rows: list[dict]) -> alt.Chart:
    df = pd.DataFrame(rows or [{"township": "无数据", "category": "无数据", "received": 0}])
    # the tooltip sits on the shared base: the number layer on top of each cell would otherwise show
    # Vega's default tooltip with the raw field names (received, category, township)
    base = _base(df, "乡镇 × 纠纷类别").encode(
        x=alt.X("category:N", title="纠纷类别",
                axis=alt.Axis(labelAngle=-40, labelAlign="right", labelLimit=140, labelOverlap=False)),
        y=alt.Y("township:N", title="乡镇（街道）", axis=AXIS_ALL),
        tooltip=[alt.Tooltip("township:N", title="乡镇（街道）"), alt.Tooltip("category:N", title="纠纷类别"),
                 alt.Tooltip("received:Q", title="案件数", format=",")])
    cells = base.mark_rect().encode(
        color=alt.Color("received:Q", title="案件数", scale=alt.Scale(scheme="oranges")))
    labels = base.mark_text(fontSize=10).encode(text=alt.Text("received:Q", format=","))
    return _config((cells + labels).properties(height=max(260, 22 * df["township"].nunique())))


def download(exp: dashboard.Export, key: str, label: str = "导出 Excel") -> None:
    st.download_button(label, exp.data, file_name=exp.filename, mime=exp.mime, key=key,
                       icon=":material/download:")
