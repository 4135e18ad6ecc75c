"""领导驾驶舱 · 机制成效: the period against the period before it (the pre-scheme baseline when the
period starts at the scheme's launch), the task force's and the online services' counts, and the
station-room / village-room split. Figures from services.metrics.dashboard.effect; this only draws."""
from __future__ import annotations

import streamlit as st

from components.context import db
from components.tables import percent
from db.config import database_url
from services.metrics import dashboard
from services.metrics.dashboard import Period, Scope


@st.cache_data(ttl=60, show_spinner="正在统计机制成效……")
def _figures(db_key: str, start, end, label: str, kind: str, unit_id, repeats: bool) -> dict:
    """Aggregates only (identical for every user, no personal data): safe to share for 60 s."""
    with db() as s:
        dashboard.ensure_fresh(s)
        return dashboard.effect(s, Period(start, end, label), Scope(kind, unit_id), repeats)


def section(period: Period, scope: Scope, repeats: bool) -> None:
    """`repeats`: the repeat-call share too (the page's 重复报警分析 switch; slow on large data)."""
    data = _figures(database_url(), period.start, period.end, period.label, scope.kind, scope.id, repeats)
    before = data["before"]
    st.subheader("机制成效")
    st.caption(f"本期 {period.text} 与{data['before_label']} {before.text}（等长）相比"
               + ("；对比期在机制实施（首起案件移交调解室）之前，为实施前基线。" if data["baseline"] else "。"))
    cols = st.columns(len(data["rows"]))
    for col, row in zip(cols, data["rows"]):
        with col.container(border=True, key=f"effect_{row.key}"):
            st.text(row.label + ("（估算）" if not row.measured else ""))
            st.metric(f"{row.label} 本期", row.show(row.now), label_visibility="collapsed")
            st.text(f"{data['before_label']}：{row.show(row.before)}　变化：{row.change}")
            st.caption(row.explain)
    counts = data["counts"]
    cols = st.columns(len(counts))
    for col, (key, value) in zip(cols, counts.items()):
        label, explain = dashboard.TASKFORCE_COUNTS[key]
        col.metric(label, f"{value:,}", help=explain, border=True)
    st.caption("以上五项为全市数（不随范围变化）：" + "；".join(
        f"{label}：{explain}" for label, explain in dashboard.TASKFORCE_COUNTS.values()) + "。")
    split = [(f"{m['mode_name']}模式接报案件", f"{m['received']:,}", f"占全部接报 {percent(m['share'])}",
              f"按发生地分流到{m['mode_name']}模式、统计期内接报的案件数及占全部接报的比例；调解成功率 "
              f"{percent(m['success_rate'])}") for m in data["modes"]]
    split += [(f"移交{r['room_name']}", f"{r['handed']:,}", f"成功率 {percent(r['success_rate'])}",
               f"统计期内接报、曾移交{r['room_name']}办理的案件（占移交调解室案件的 {percent(r['share'])}），"
               "成功率按最终结果计") for r in data["rooms"]]
    cols = st.columns(max(len(split), 1))
    for i, (col, (label, value, share, explain)) in enumerate(zip(cols, split)):
        with col.container(border=True, key=f"effect_split_{i}"):
            st.metric(label, value)  # the count alone: a long value is cut off with "…" in a narrow column
            st.text(share)
            st.caption(explain)
