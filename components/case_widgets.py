"""Case UI pieces: status badge, ladder strip, case card, timeline, time inputs and the action forms.

Everything here draws data it is given (plain dicts from services.cases.case_queries) or calls one
service per action through run_action. No raw HTML: user text goes through st.dataframe,
st.text or widget labels only.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from components import forms
from components.context import db, field_error, plain, run_action
from components.dates import ANY_DATE
from components.tables import dataframe
from services import clock, settings
from services.cases import case_queries
from services.cases import checkin
from services.cases import ladder
from services.cases import workflow
from services.errors import ConcurrentEdit, DomainError

STATUS_COLOURS = {"registered": "orange", "mediating": "blue", "settled": "green", "litigation": "violet",
                  "terminated": "gray", "closed": "gray"}
CARD_COLOURS = {"red": ("red", "超时"), "orange": ("orange", "即将到期"), "green": ("green", "正常")}


# ------------------------------------------------------------------ small pieces
def status_badge(status: str) -> None:
    st.badge(ladder.status_name(status), color=STATUS_COLOURS.get(status, "gray"))


def overdue_badges(names: list[str]) -> None:
    for name in names:
        st.badge(name, color="red", icon=":material/alarm:")


def ladder_strip(steps: list[dict]) -> None:
    """The ladder of the case's mode as a row of badges; the current level highlighted.
    Level names come from services.cases.ladder, never from user input."""
    parts = []
    for step in steps:
        if step["state"] == "current":
            parts.append(f":blue-badge[:material/location_on: **{step['name']}**]")
        elif step["state"] == "done":
            parts.append(f":green-badge[:material/check: {step['name']}]")
        else:
            parts.append(f":gray-badge[{step['name']}]")
    st.markdown(" → ".join(parts))


def open_case(case_id: int) -> None:
    st.session_state["case_id"] = case_id
    st.session_state.pop("case_conflict", None)
    st.switch_page("pages/case_detail.py")


def arrival_clock(row: dict) -> str:
    """The 15-minute arrival clock of an open case (case header and board cards alike):
    "到场时限 …：剩余 N 分钟 / 已超时 N 分钟 / 已到场…", worked out now by the server; "" when no
    one has been dispatched or the case is past mediation."""
    if not row.get("arrival_due_at") or row.get("status") not in ("registered", "mediating"):
        return ""
    return (f"到场时限 {clock.fmt(row['arrival_due_at'])}："
            f"{checkin.countdown(row['arrival_due_at'], clock.now(), row.get('first_arrival_at'))}")


def case_card(row: dict, key: str) -> None:
    """A board card: number, badges, category and place, stage and due time, an 打开 button."""
    colour, label = CARD_COLOURS[row.get("colour", "green")]
    with st.container(border=True):
        st.markdown(f"**{row['number']}**")
        st.badge(label, color=colour)
        overdue_badges(row["overdue_names"])
        st.caption(plain(f"{row['category']} · {row['township']} · {row['complexity_name']}"))
        st.caption(f"{row['stage']}；时限 {clock.fmt(row['level_due_at']) or '—'}")
        if (arrival := arrival_clock(row)):
            st.caption(arrival)
        if st.button("打开", key=key, icon=":material/open_in_new:"):
            open_case(row["id"])


def kv_table(pairs: list[tuple[str, object]]) -> None:
    dataframe(pd.DataFrame({"项目": [k for k, _ in pairs], "内容": [_text(v) for _, v in pairs]}),
                 hide_index=True, width="stretch")


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return clock.fmt(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def timeline(events: list[dict]) -> None:
    dataframe(pd.DataFrame([{"时间": clock.fmt(e["at"], True), "操作": e["action_name"], "人员": e["who"],
                                "角色": e["role"], "层级": " → ".join(x for x in (e["from"], e["to"]) if x),
                                "状态": " → ".join(x for x in (e["from_status"], e["to_status"]) if x),
                                "说明": e["note"]} for e in events]), hide_index=True, width="stretch")


def local_datetime(label: str, key: str, now_if_empty: bool = True) -> dt.datetime | None:
    """Beijing date + time inputs; both empty means now (or None when now_if_empty is False)."""
    c1, c2 = st.columns(2)
    d = c1.date_input(f"{label}·日期（留空为今天）", value=None, key=f"{key}_date", format="YYYY-MM-DD", **ANY_DATE)
    t = c2.time_input(f"{label}·时间（留空为当前时间）", value=None, key=f"{key}_time", step=60)
    if d is None and t is None:
        return clock.now() if now_if_empty else None
    today = clock.local(clock.now())
    d = d or today.date()
    t = t or today.time().replace(second=0, microsecond=0)
    return dt.datetime.combine(d, t, tzinfo=clock.LOCAL_TZ).astimezone(clock.UTC)


# ------------------------------------------------------------------ acting on a case
def act(fn, *args, success, form: forms.Bound | None = None, **kwargs) -> None:
    """Run one service; on success rerun with a message (and fresh widgets for `form`); on a lost
    update flag the conflict. A second click on the same form generation saves nothing more."""
    def call(session, actor, *a, **k):
        try:
            return fn(session, actor, *a, **k)
        except ConcurrentEdit as exc:
            st.session_state["case_conflict"] = exc.message
            raise
        except DomainError as exc:
            st.session_state["case_error"] = exc.message
            raise
    run = lambda: run_action(call, *args, **kwargs)  # noqa: E731
    result = form.once(run) if form is not None else run()  # a double click saves once
    if result is not None:
        st.session_state["case_flash"] = success(result) if callable(success) else success
        for key in ("cd_seen", "fu_seen"):  # the next run shows (and remembers) the new version
            st.session_state.pop(key, None)
        if form is not None:
            form.reset()
    # rerun either way: the result, the field errors beside their fields, or the conflict with 刷新
    st.rerun()


def action_error() -> None:
    """The refusal of the last action (errors of single fields also show beside the field)."""
    msg = st.session_state.pop("case_error", None)
    if msg:
        st.error(msg)


def label(action: str, name: str) -> str:
    """A field's label, from the action's row of the MOVES table (services.cases.ladder)."""
    rule = ladder.RULES[action]
    return rule.required[name][0] if name in rule.required else rule.optional[name]


def action_forms(view: dict, seen_version: int) -> None:
    """The actions this role may take now, one form at a time (chosen by a radio)."""
    actions = view["allowed_actions"]
    if not actions:
        return
    st.subheader("办理")
    case_id, v = view["id"], seen_version
    form = forms.bound("cd", case_id)  # keys carry the case: another case's form never shows these values
    k = form.key
    action = st.radio("选择操作", actions, format_func=ladder.ACTION_NAMES.get, horizontal=True, key=k("action"))
    action_error()
    from components import agreement_widgets
    n_terms = agreement_widgets.term_count(k) if action == "settle" else 0
    with st.form(k(f"form_{action}"), enter_to_submit=False):
        if action == "dispatch" or action == "add_dispatch":
            _dispatch_fields(case_id, action, v, form)
        elif action == "transfer":
            nxt = ladder.next_level(view["mode"], view["level"])
            st.caption(f"移送至：{ladder.level_name(view['mode'], nxt)}")
            note = st.text_area(label("transfer", "note"), key=k("transfer_note"))
            field_error("note")
            if st.form_submit_button(ladder.ACTION_NAMES["transfer"], key=k("transfer_submit"), type="primary"):
                act(workflow.transition, case_id, "transfer", v, note=note, form=form, success="已移送上一级。")
        elif action == "settle":
            agreement_widgets.settle_fields(view, v, form, n_terms)
        elif action in agreement_widgets.ACTIONS:
            agreement_widgets.action_fields(action, view, v, form)
        elif action == "terminate":
            code = st.selectbox(label("terminate", "reason_code"), list(ladder.TERMINATION_REASONS), index=None,
                                format_func=ladder.TERMINATION_REASONS.get, key=k("terminate_code"), placeholder="请选择")
            field_error("reason_code")
            note = st.text_area(label("terminate", "note"), key=k("terminate_note"))
            field_error("note")
            if st.form_submit_button("终止调处", key=k("terminate_submit")):
                act(workflow.transition, case_id, "terminate", v, note=note, reason_code=code, form=form, success="案件已终止。")
        elif action == "litigate":
            court = st.text_input(label("litigate", "court_name"), key=k("litigate_court"), placeholder="如：丰城市人民法院")
            field_error("court_name")
            note = st.text_area(label("litigate", "note"), key=k("litigate_note"))
            if st.form_submit_button("记录引导诉讼", key=k("litigate_submit"), type="primary"):
                act(workflow.transition, case_id, "litigate", v, note=note, court_name=court, form=form, success="已记录引导诉讼。")
        elif action == "follow_up":
            follow_up_fields(case_id, v, "fu", form)
        elif action == "close":
            st.write("确认该案件已办结、回访完毕，闭环归档。")
            if st.form_submit_button(ladder.ACTION_NAMES["close"], key=k("close_submit"), type="primary"):
                act(workflow.transition, case_id, "close", v, form=form, success="案件已闭环。")
        elif action == "arrive":
            waiting = [d for d in view["dispatches"] if d["arrived_at"] is None]
            names = {d["id"]: f"{d['name']}（{d['duty']}，通知 {clock.fmt(d['notified_at'])}）" for d in waiting}
            did = st.selectbox(label("arrive", "dispatch_id"), list(names), format_func=names.get, key=k("arrive_who"), placeholder="请选择")
            at = local_datetime(label("arrive", "arrived_at"), k("arrive_at"))
            field_error("arrived_at")
            if st.form_submit_button(ladder.ACTION_NAMES["arrive"], key=k("arrive_submit"), type="primary"):
                act(workflow.record_arrival, did, at, expected_version=v, form=form, success="已记录到场时间。")
        elif action == "police":
            arrived = local_datetime(label("police", "police_arrived_at"), k("police_arrived"))
            field_error("police_arrived_at")
            handover = local_datetime(label("police", "police_handover_at"), k("police_handover"))
            field_error("police_handover_at")
            if st.form_submit_button("记录民警处警时间", key=k("police_submit")):
                act(workflow.record_police, case_id, v, arrived, handover, form=form, success="已记录民警处警时间。")
        elif action == "reroute":
            with db() as s:
                rooms = dict(case_queries.rooms(s))
            room = st.selectbox(label("reroute", "room_id"), list(rooms), index=None, format_func=rooms.get, key=k("reroute_room"), placeholder="请选择")
            field_error("room_id")
            reason = st.text_input(label("reroute", "reason"), key=k("reroute_reason"))
            field_error("reason")
            if st.form_submit_button(ladder.ACTION_NAMES["reroute"], key=k("reroute_submit")):
                act(workflow.reroute, case_id, v, room, reason, form=form, success="已改派调解室。")


def _dispatch_fields(case_id: int, action: str, v: int, form: forms.Bound) -> None:
    k = form.key
    with db() as s:
        options = case_queries.dispatch_options(s, st.session_state["actor"], case_id)
        arrival = settings.phrase(s, "arrival_minutes")
    labels = {o["mediator_id"]: o["label"] for o in options}
    duty = {o["mediator_id"]: o["duty"] for o in options}
    suggested = [o["mediator_id"] for o in options if o["suggested"]]
    preselect = [o["mediator_id"] for o in options if o["suggested"] and o.get("preselect", True)]
    first_per_duty = list({duty[m]: m for m in reversed(preselect)}.values())[::-1]
    picked = st.multiselect("建议人员（已预选）", suggested, default=first_per_duty if action == "dispatch" else [],
                            format_func=labels.get, key=k(f"{action}_suggested"), placeholder="请选择（可多选）", select_all=False)
    others = st.multiselect("其他人员", [o["mediator_id"] for o in options if not o["suggested"]],
                            format_func=labels.get, key=k(f"{action}_others"), placeholder="请选择（可多选）", select_all=False)
    field_error("people")
    notified = local_datetime(label("dispatch", "notified_at"), k(f"{action}_at"))
    field_error("notified_at")
    people = [(m, duty[m]) for m in list(picked) + list(others)]
    if action == "dispatch":
        if st.form_submit_button(ladder.ACTION_NAMES["dispatch"], key=k("dispatch_submit"), type="primary"):
            act(workflow.transition, case_id, "dispatch", v, people=people, notified_at=notified,
                form=form, success=f"已调度，{arrival}到场计时开始。")
    elif st.form_submit_button("增派", key=k("add_dispatch_submit")):
        act(workflow.add_dispatch, case_id, v, people, notified, form=form, success="已增派人员。")


def follow_up_fields(case_id: int, v: int, key: str, form: forms.Bound) -> None:
    """The follow-up (回访) fields and submit button; call inside an st.form bound to the case."""
    key = form.key(key)
    c1, c2, c3 = st.columns(3)
    method = c1.radio(label("follow_up", "method"), list(workflow.FOLLOW_UP_METHODS), index=None,
                      format_func=workflow.FOLLOW_UP_METHODS.get, key=f"{key}_method")
    with c1:
        field_error("method")
    holds = c2.radio(label("follow_up", "agreement_holds"), [True, False], index=None, format_func=lambda b: "已履行" if b else "未履行",
                     key=f"{key}_holds")
    with c2:
        field_error("agreement_holds")
    sat = c3.radio(label("follow_up", "satisfaction"), list(workflow.SATISFACTION), index=None, format_func=workflow.SATISFACTION.get,
                   key=f"{key}_satisfaction")
    with c3:
        field_error("satisfaction")
    from components.agreement_widgets import performance_fields
    terms = performance_fields(case_id, key)
    done_at = local_datetime(label("follow_up", "done_at"), f"{key}_at")
    field_error("done_at")
    note = st.text_area(label("follow_up", "note"), key=f"{key}_note")
    field_error("note")
    if st.form_submit_button("保存回访", key=f"{key}_submit", type="primary"):
        act(workflow.transition, case_id, "follow_up", v, note=note, method=method, agreement_holds=holds,
            satisfaction=sat, done_at=done_at, term_performance=terms or None, form=form,
            success=lambda case: f"回访已记录（{workflow.follow_up_outcome(sat, holds, case.status == 'mediating')}）。"
            + ("请重新安排调解。" if case.status == "mediating" else ""))


# ------------------------------------------------------------------ intake: the parties
def party_editor(key: str = "in") -> list[dict]:
    """Rows of parties held in session state (add/remove); returns the filled-in rows.

    Errors use the index among non-empty rows, the same numbering services.cases.intake.validate uses."""
    from services.cases.intake import PARTY_ROLES
    rows_key, next_key = f"{key}_party_rows", f"{key}_party_next"
    st.session_state.setdefault(rows_key, [0])
    st.session_state.setdefault(next_key, 1)
    out, k = [], 0
    for pos, rid in enumerate(list(st.session_state[rows_key])):
        p = f"{key}_p{rid}"
        with st.container(border=True):
            c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
            name = c1.text_input(f"当事人{pos + 1} 姓名", key=f"{p}_name", max_chars=50)
            role = c2.selectbox("身份", list(PARTY_ROLES), format_func=PARTY_ROLES.get, key=f"{p}_role", placeholder="请选择")
            mobile = c3.text_input("手机号码", key=f"{p}_mobile", max_chars=20)
            id_card = c4.text_input("身份证号码（可不填）", key=f"{p}_id", max_chars=18)
            filled = bool(name.strip() or mobile.strip() or id_card.strip())
            if filled:
                for col, field in ((c1, "name"), (c3, "mobile"), (c4, "id_card")):
                    with col:
                        field_error(f"party{k}.{field}")
            address = st.text_input("住址", key=f"{p}_addr", max_chars=200)
            if len(st.session_state[rows_key]) > 1 and st.button("删除该当事人", key=f"{p}_remove",
                                                                   icon=":material/delete:"):
                st.session_state[rows_key].remove(rid)
                st.rerun()
        if filled:
            out.append({"name": name, "role": role, "mobile": mobile, "id_card": id_card, "address": address})
            k += 1
    field_error("parties")
    if st.button("添加当事人", key=f"{key}_add_party", icon=":material/person_add:"):
        st.session_state[rows_key].append(st.session_state[next_key])
        st.session_state[next_key] += 1
        st.rerun()
    return out
