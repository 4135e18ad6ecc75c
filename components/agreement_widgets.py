"""The written agreement on 案件详情: the settle form's structured terms, the forms of the MOVES rows
record_session, judicial_apply, judicial_result and party_details, each term's answer in the
follow-up, and the panel that shows terms, sessions and the judicial confirmation.

Every form calls services.cases.workflow.transition() through case_widgets.act; field errors show
under their fields (keys as services.cases.agreements reports them). User text goes through
st.text / tables only.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from components import forms
from components.context import db, field_error
from components.dates import ANY_DATE
from components.tables import dataframe, yuan
from services import clock
from services.cases import agreements, case_queries, ladder, workflow

ACTIONS = ("record_session", "judicial_apply", "judicial_result", "party_details")


def _label(action: str, name: str) -> str:
    rule = ladder.RULES[action]
    return rule.required[name][0] if name in rule.required else rule.optional[name]


def _date(label: str, key: str) -> dt.date | None:
    return st.date_input(label, value=None, key=key, format="YYYY-MM-DD", **ANY_DATE)


def term_count(k) -> int:
    """How many term rows the settle form shows (outside the form: changing it redraws the rows)."""
    return int(st.number_input("协议条款项数（先选定项数，再在下方逐项填写）", min_value=0,
                               max_value=agreements.MAX_TERMS, value=1, step=1, key=k("settle_term_count")))


def settle_fields(view: dict, v: int, form: forms.Bound, n_terms: int) -> None:
    """The settle row's form: summary, amount, structured terms, copies, effective date, intention."""
    from components.case_widgets import act, label
    k, case_id = form.key, view["id"]
    summary = st.text_area(label("settle", "agreement_summary"), key=k("settle_summary"))
    field_error("agreement_summary")
    amount = st.text_input(label("settle", "agreement_amount"), key=k("settle_amount"))
    field_error("agreement_amount")
    parties = {p["id"]: f"{p['name']}（{p['role']}）" for p in view["parties"]}
    terms = []
    for i in range(n_terms):
        with st.container(border=True):
            st.caption(f"第 {i + 1} 项条款")
            obligation = st.text_input("义务内容", key=k(f"settle_t{i}_obligation"), max_chars=500)
            field_error(f"terms.{i}.obligation")
            c1, c2 = st.columns(2)
            party = c1.selectbox("义务人", list(parties), index=None, format_func=parties.get,
                                 key=k(f"settle_t{i}_party"), placeholder="请选择当事人")
            with c1:
                field_error(f"terms.{i}.party_id")
            due = c2.date_input("履行期限", value=None, key=k(f"settle_t{i}_due"), format="YYYY-MM-DD", **ANY_DATE)
            with c2:
                field_error(f"terms.{i}.due_on")
            c3, c4 = st.columns(2)
            money = c3.text_input("金额（元，可不填）", key=k(f"settle_t{i}_amount"))
            with c3:
                field_error(f"terms.{i}.amount")
            manner = c4.text_input("履行方式（如：一次性微信转账）", key=k(f"settle_t{i}_manner"), max_chars=200)
            with c4:
                field_error(f"terms.{i}.manner")
        terms.append({"obligation": obligation, "party_id": party, "amount": money.strip() or None,
                      "manner": manner, "due_on": due})
    field_error("terms")
    c1, c2 = st.columns(2)
    copies = c1.number_input(label("settle", "agreement_copies"), min_value=1, max_value=20,
                             value=max(2, len(parties)) + 1, step=1, key=k("settle_copies"))
    with c1:
        field_error("agreement_copies")
    effective = c2.date_input(label("settle", "effective_on"), value=None, key=k("settle_effective"),
                              format="YYYY-MM-DD", **ANY_DATE)
    with c2:
        field_error("effective_on")
    intent = st.checkbox(label("settle", "judicial_intent"), key=k("settle_intent"))
    if st.form_submit_button("记录调解成功", key=k("settle_submit"), type="primary"):
        act(workflow.transition, case_id, "settle", v, agreement_summary=summary,
            agreement_amount=amount.strip() or None, terms=terms, agreement_copies=copies, effective_on=effective,
            judicial_intent=intent, form=form, success="已记录调解成功，进入回访队列。")


def action_fields(action: str, view: dict, v: int, form: forms.Bound) -> None:
    """The forms of the side-action rows of the written agreement (inside the action's st.form)."""
    from components.case_widgets import act, local_datetime
    k, case_id = form.key, view["id"]
    if action == "record_session":
        held = local_datetime(_label(action, "held_at"), k("session_at"))
        field_error("held_at")
        place = st.text_input(_label(action, "place"), key=k("session_place"), max_chars=200)
        field_error("place")
        c1, c2 = st.columns(2)
        mediators = c1.text_input(_label(action, "mediators"), key=k("session_mediators"), max_chars=200)
        participants = c2.text_input(_label(action, "participants"), key=k("session_participants"), max_chars=300)
        process = st.text_area(_label(action, "process"), key=k("session_process"))
        field_error("process")
        result = st.text_area(_label(action, "result"), key=k("session_result"))
        field_error("result")
        if st.form_submit_button("保存调解记录", key=k("session_submit"), type="primary"):
            act(workflow.transition, case_id, action, v, held_at=held, place=place, mediators=mediators,
                participants=participants, process=process, result=result, form=form, success="已保存调解记录。")
    elif action == "judicial_apply":
        with db() as s:
            court_default = workflow.default_court(s)
        applied = _date(_label(action, "applied_on"), k("judicial_applied"))
        field_error("applied_on")
        court = st.text_input(_label(action, "court"), value=court_default, key=k("judicial_court"), max_chars=100)
        field_error("court")
        channel = st.radio(_label(action, "channel"), list(agreements.CHANNELS), index=None, horizontal=True,
                           format_func=agreements.CHANNELS.get, key=k("judicial_channel"))
        field_error("channel")
        applicants = st.text_input(_label(action, "applicants") + "（留空为全体当事人）", key=k("judicial_applicants"),
                                   max_chars=300)
        if st.form_submit_button("记录司法确认申请", key=k("judicial_apply_submit"), type="primary"):
            act(workflow.transition, case_id, action, v, applied_on=applied, court=court, channel=channel,
                applicants=applicants, form=form, success="已记录司法确认申请。")
    elif action == "judicial_result":
        result = st.radio(_label(action, "result"), list(agreements.RESULTS), index=None, horizontal=True,
                          format_func=agreements.RESULTS.get, key=k("judicial_result"))
        field_error("result")
        on = _date(_label(action, "result_on"), k("judicial_result_on"))
        field_error("result_on")
        ruling = st.text_input(_label(action, "ruling_no"), key=k("judicial_ruling"), max_chars=60,
                               placeholder="如：（2023）赣0981民特123号")
        field_error("ruling_no")
        reason = st.text_area(_label(action, "reject_reason"), key=k("judicial_reason"))
        field_error("reject_reason")
        if st.form_submit_button("记录确认结果", key=k("judicial_result_submit"), type="primary"):
            act(workflow.transition, case_id, action, v, result=result, result_on=on, ruling_no=ruling,
                reject_reason=reason, form=form, success="已记录司法确认结果。")
    elif action == "party_details":
        parties = {p["id"]: f"{p['name']}（{p['role']}）" for p in view["parties"]}
        pid = st.selectbox(_label(action, "party_id"), list(parties), index=None, format_func=parties.get,
                           key=k("party_pick"), placeholder="请选择当事人")
        field_error("party_id")
        # one set of widgets per party: another party's values never show under this one's name
        p = f"party{pid}"
        c1, c2 = st.columns(2)
        sex = c1.selectbox(_label(action, "sex"), list(agreements.SEXES), index=None, format_func=agreements.SEXES.get,
                           key=k(f"{p}_sex"), placeholder="请选择性别")
        with c1:
            field_error("sex")
        ethnicity = c2.text_input(_label(action, "ethnicity"), key=k(f"{p}_ethnicity"), max_chars=20,
                                  placeholder="如：汉族")
        with c2:
            field_error("ethnicity")
        birth = _date(_label(action, "birth_date"), k(f"{p}_birth"))
        field_error("birth_date")
        occupation = st.text_input(_label(action, "occupation"), key=k(f"{p}_occupation"), max_chars=100)
        field_error("occupation")
        if st.form_submit_button("保存当事人信息", key=k("party_submit"), type="primary"):
            act(workflow.transition, case_id, action, v, party_id=pid, sex=sex, ethnicity=ethnicity,
                birth_date=birth, occupation=occupation, form=form, success="已保存当事人信息。")


def performance_fields(case_id: int, key: str) -> dict[int, str | None]:
    """One radio per agreement term for the follow-up (performed / not yet / refused)."""
    with db() as s:
        terms = case_queries.follow_up_terms(s, st.session_state["actor"], case_id)
    answers = {}
    if terms:
        st.caption("协议条款履行情况（逐项选择；拒绝履行或逾期未履行时，“协议是否履行”选“未履行”）")
    for t in terms:
        due = f"{t['due_on']:%Y-%m-%d}"
        answers[t["id"]] = st.radio(f"第 {t['position']} 项：{t['obligation']}（{t['party']}，期限 {due}）",
                                    list(agreements.PERFORMANCE), index=None, horizontal=True,
                                    format_func=agreements.PERFORMANCE.get, key=f"{key}_term{t['id']}")
        field_error(f"term_performance.{t['id']}")
    field_error("term_performance")
    return answers


def panel(view: dict) -> None:
    """调解协议 / 调解记录 / 司法确认 on the detail page."""
    if view["judicial_warning"]:
        st.warning(view["judicial_warning"], icon=":material/gavel:")
    if not (view["terms"] or view["sessions"] or view["confirmation"] or view["agreement_effective_on"]):
        return
    st.subheader("调解协议与司法确认")
    if view["agreement_effective_on"]:
        st.caption(f"协议生效日期 {view['agreement_effective_on']:%Y-%m-%d}；一式 {view['agreement_copies'] or '—'} 份；"
                   f"{'当事人拟共同申请司法确认' if view['judicial_intent'] else '当事人未表示申请司法确认'}。")
    if view["terms"]:
        dataframe(pd.DataFrame([{"序号": t["position"], "义务内容": t["obligation"], "义务人": t["party"],
                                 "金额（元）": yuan(t["amount"]) if t["amount"] is not None else "",
                                 "履行方式": t["manner"], "履行期限": f"{t['due_on']:%Y-%m-%d}",
                                 "履行情况": t["performance_name"] or ("逾期未核实" if t["late"] else "待回访核实")}
                                for t in view["terms"]]), hide_index=True, width="stretch", key="cd_terms")
    if view["sessions"]:
        st.markdown("**人民调解记录**")
        dataframe(pd.DataFrame([{"调解时间": clock.fmt(m["held_at"]), "地点": m["place"], "调解人员": m["mediators"],
                                 "参加人员": m["participants"], "调解经过": m["process"], "调解结果": m["result"]}
                                for m in view["sessions"]]), hide_index=True, width="stretch", key="cd_sessions")
    c = view["confirmation"]
    if c:
        st.markdown("**司法确认**")
        from components.case_widgets import kv_table
        kv_table([("申请日期", f"{c['applied_on']:%Y-%m-%d}"), ("受理法院", c["court"]), ("申请人", c["applicants"]),
                  ("申请方式", c["channel_name"]), ("确认结果", c["result_name"]),
                  ("裁定日期", f"{c['result_on']:%Y-%m-%d}" if c["result_on"] else ""),
                  ("民事裁定书文号", c["ruling_no"]), ("不予确认理由", c["reject_reason"])])
