"""案件详情: all fields (masked per role), routing, dispatch record, timeline, follow-ups, and the
actions this role may take now. Every action carries the case version the user saw."""
import pandas as pd
import streamlit as st

from components.agreement_widgets import panel as agreement_panel
from components.case_panels import PANELS
from components.checkin_panel import render as checkin_panel
from components.case_widgets import action_forms, arrival_clock, kv_table, ladder_strip, overdue_badges, status_badge, timeline
from components.context import db, guard
from components.repeat_panels import case_panel as repeat_panel
from components.tables import dataframe, yuan
from services import clock, personal_data
from services.cases import case_queries
from services.errors import DomainError

me = guard(__file__)
st.title("案件详情")


def open_number(number: str) -> None:
    """Show the case of that number, within this role's scope; a Chinese error otherwise."""
    try:
        with db() as s:
            st.session_state["case_id"] = case_queries.find_case_id(s, me, number)
        st.session_state.pop("case_conflict", None)
    except DomainError as exc:
        st.error(exc.message)


with st.expander("按案件编号打开", expanded="case_id" not in st.session_state):
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    number = c1.text_input("案件编号", key="cd_lookup", placeholder="如：丰-2026-000123")
    if c2.button("打开", key="cd_lookup_open") and number.strip():
        open_number(number)

# a link from another tab (案件登记's 疑似重复纠纷 panel): case_detail?case=<number>, same scope rules
linked = st.query_params.get("case")
if linked and st.session_state.get("cd_linked") != linked:
    st.session_state["cd_linked"] = linked
    open_number(linked)

case_id = st.session_state.get("case_id")
if case_id is None:
    st.info("请从案件列表、看板或回访队列选择案件，或输入案件编号。")
    st.stop()
try:
    with db() as s:
        view = case_queries.case_view(s, me, case_id)
except DomainError as exc:
    st.error(exc.message)
    st.stop()

# the version the user saw: from the previous run of this page for this case
seen = st.session_state.get("cd_seen")
seen_version = seen[1] if seen and seen[0] == case_id else view["version"]

st.header(view["number"])
c1, c2 = st.columns([1, 4])
with c1:
    status_badge(view["status"])
    overdue_badges(view["overdue_names"])
with c2:
    ladder_strip(view["ladder"])
    st.caption(f"{view['mode_name']} · {view['stage']}；本级时限 {clock.fmt(view['level_due_at']) or '—'}")
    if (arrival := arrival_clock(view)):  # the 15-minute arrival clock, as on the board's cards
        st.caption(arrival)

flash = st.session_state.pop("case_flash", None)
if flash:
    st.success(flash)
conflict = st.session_state.get("case_conflict")
if conflict:
    st.warning(conflict)
    if st.button("刷新", key="cd_reload", icon=":material/refresh:", type="primary"):
        st.session_state.pop("case_conflict")
        st.session_state["cd_seen"] = (case_id, view["version"])
        st.rerun()

repeat_panel(case_id, me)  # 疑似重复纠纷: earlier cases of the same party or address

left, right = st.columns(2)
with left:
    st.subheader("基本情况")
    kv_table([("来源", view["source_name"]), ("110 警情编号", view["police_incident_no"]),
              ("处警民警", view["police_officer"]), ("处警派出所", view["police_station"]),
              ("12345 工单号", view["hotline_order_no"]), ("接报时间", view["received_at"]),
              ("发生地", " · ".join(x for x in (view["township"], view["village"], view["grid"]) if x)),
              ("详细地址", view["address"]), ("纠纷类别", view["category"]), ("复杂程度", view["complexity_name"]),
              ("登记人", view["created_by"]), ("登记时间", view["created_at"])])
    st.text(view["description"])
with right:
    st.subheader("分流与结果")
    kv_table([("模式", view["mode_name"]), ("调解室", view["room"]), ("服务时间外（值班干部）", view["after_hours"]),
              ("人工改派", view["route_note"] if view["route_overridden"] else "否"),
              ("当前层级", view["level_name"]), ("状态", view["status_name"]),
              ("当前调解人", view["current_mediator"]), ("进入本级", view["level_entered_at"]),
              ("调解成功", view["settled_at"]), ("成功层级", view["settled_level"]),
              ("协议要点", view["agreement_summary"]), ("协议金额", yuan(view["agreement_amount"])),
              ("终止/诉讼", " ".join(x for x in (view["end_reason_name"], view["end_reason"], view["court_name"]) if x)),
              ("回访期限", view["follow_up_due_at"]), ("回访满意度", view["satisfaction"]),
              ("闭环时间", view["closed_at"]), ("重新调处次数", view["reopen_count"])])

st.subheader("当事人")
if not view["personal_visible"]:
    st.caption("您的角色不查看当事人个人信息，已脱敏显示（案情、说明中的姓名和号码同样脱敏）。")
elif st.session_state.get("cd_personal_logged") != case_id:  # unmasked parties seen: logged once per case
    with db() as s:
        personal_data.record_view(s, me, case_id)
    st.session_state["cd_personal_logged"] = case_id
# the table's own CSV download is off (client.disableDataExport); the export below is logged
dataframe(pd.DataFrame([{"姓名": p["name"], "身份": p["role"], "手机号码": p["mobile"], "身份证号码": p["id_card"],
                         "住址": p["address"], "性别": p["sex"], "民族": p["ethnicity"], "出生日期": p["birth_date"],
                         "职业或工作单位": p["occupation"]} for p in view["parties"]]), hide_index=True,
          width="stretch", key="cd_parties")
if view["personal_visible"]:
    def _parties_file(case_id=case_id):
        with db() as s:
            return personal_data.export_parties(s, me, case_id)
    st.download_button("导出当事人（Excel，记入操作日志）", _parties_file, f"当事人_{view['number']}.xlsx",
                       on_click="ignore", key="cd_parties_export", icon=":material/download:")

st.subheader("调度与到场")
c1, c2, c3, c4 = st.columns(4)
c1.metric("首次通知", clock.fmt(view["first_notified_at"])[5:] or "—")
c2.metric("首次到场", clock.fmt(view["first_arrival_at"])[5:] or "—")
c3.metric("超时/未到场人次", view["late_arrivals"])
c4.metric("民警处警用时（分钟）", "—" if view["police_minutes"] is None else view["police_minutes"])
if view["dispatches"]:
    dataframe(pd.DataFrame([{"人员": d["name"], "类别": d["kind"], "职责": d["duty"], "电话": d["phone"],
                             "通知时间": clock.fmt(d["notified_at"]), "应到时间": clock.fmt(d["due_at"]),
                             "到场时间": clock.fmt(d["arrived_at"]),
                             "用时（分钟）": "" if d["minutes"] is None else str(d["minutes"]),
                             "超时": "超时" if d["late"] else ""} for d in view["dispatches"]]),
              hide_index=True, width="stretch", key="cd_dispatches")
else:
    st.caption("尚未调度。")
checkin_panel(view, me)  # each dispatched person's check-in link
if view["police_arrived_at"]:
    st.caption(f"民警到场 {clock.fmt(view['police_arrived_at'])}，移交调解 {clock.fmt(view['police_handover_at'])}。")

agreement_panel(view)  # 调解协议 terms, 人民调解记录, 司法确认 (and the 25-day warning)

if not conflict:
    action_forms(view, seen_version)
    st.session_state["cd_seen"] = (case_id, view["version"])

st.subheader("办理经过")
timeline(view["timeline"])
if view["follow_ups"]:
    st.subheader("回访记录")
    dataframe(pd.DataFrame([{"回访时间": clock.fmt(f["done_at"]), "方式": f["method"], "回访人": f["by"],
                             "协议履行": "已履行" if f["agreement_holds"] else "未履行",
                             "满意度": f["satisfaction"], "情况": f["note"]} for f in view["follow_ups"]]),
              hide_index=True, width="stretch")

for panel in PANELS:
    panel(case_id, me)
